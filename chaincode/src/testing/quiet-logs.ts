// fabric-contract-api logs every decorator at info level and every refused transaction at error
// level; tests assert on those errors themselves, so only fatal messages are printed.
process.env.CORE_CHAINCODE_LOGGING_LEVEL = 'CRITICAL';
