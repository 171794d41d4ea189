export type { IdentityRole, NetworkConfig, NetworkIdentity } from './ca/network-config';
export { DEFAULT_CHAINCODE, DEFAULT_CHANNEL } from './ca/network-config';
export { addIdentity, addOrg, createConsortium, loadNetworkConfig } from './ca/dev-ca.service';
export { startDevnet, type RunningDevnet, type StartDevnetOptions } from './devnet';
export {
  AccessDeniedError,
  ChaincodeError,
  DevnetError,
  InvalidRequestError,
  NetworkConfigError,
} from './errors';
