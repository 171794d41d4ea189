#!/usr/bin/env node
// JSON steps of a channel configuration update, between configtxlator's decode and encode (add-org.sh).
//   config-update.cjs add-org WORK MSP_ID ANCHOR_HOST ANCHOR_PORT
//     reads WORK/config_block.json (a decoded config block) and WORK/org.json (configtxgen -printOrg), writes
//     WORK/config.json (the current config) and WORK/modified_config.json (with the org and its anchor peer)
//   config-update.cjs envelope WORK CHANNEL
//     wraps WORK/update.json (a decoded ConfigUpdate) into WORK/update_envelope.json, a CONFIG_UPDATE envelope
'use strict';
const fs = require('node:fs');
const path = require('node:path');

// common.HeaderType.CONFIG_UPDATE
const CONFIG_UPDATE = 2;

function fail(message) {
  process.stderr.write(`config-update: ${message}\n`);
  process.exit(2);
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    return fail(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function addOrg(work, mspId, host, port) {
  if (!/^[A-Za-z][A-Za-z0-9]*$/.test(mspId ?? '')) fail(`MSP ID "${mspId}" is not valid`);
  const portNumber = Number(port);
  if (!Number.isInteger(portNumber) || portNumber < 1 || portNumber > 65535)
    fail(`port "${port}" is not valid`);
  if (!host) fail('the anchor peer host is missing');
  const block = readJson(path.join(work, 'config_block.json'));
  const config = block?.data?.data?.[0]?.payload?.data?.config;
  const application = config?.channel_group?.groups?.Application;
  if (application?.groups === undefined)
    fail('config_block.json holds no channel configuration with an Application group');
  if (application.groups[mspId] !== undefined) fail(`${mspId} is already a member of the channel`);
  const org = readJson(path.join(work, 'org.json'));
  // The org's anchor peer lets the other orgs' peers (and so service discovery) reach it over gossip.
  org.values = {
    ...(org.values ?? {}),
    AnchorPeers: {
      mod_policy: 'Admins',
      value: { anchor_peers: [{ host, port: portNumber }] },
      version: '0',
    },
  };
  const updated = structuredClone(config);
  updated.channel_group.groups.Application.groups[mspId] = org;
  fs.writeFileSync(path.join(work, 'config.json'), JSON.stringify(config));
  fs.writeFileSync(path.join(work, 'modified_config.json'), JSON.stringify(updated));
}

function envelope(work, channel) {
  if (!channel) fail('the channel is missing');
  const update = readJson(path.join(work, 'update.json'));
  if (update.channel_id !== channel)
    fail(`update.json is for channel "${update.channel_id}", not "${channel}"`);
  const wrapped = {
    payload: {
      header: { channel_header: { channel_id: channel, type: CONFIG_UPDATE } },
      data: { config_update: update },
    },
  };
  fs.writeFileSync(path.join(work, 'update_envelope.json'), JSON.stringify(wrapped));
}

const [command, work, ...rest] = process.argv.slice(2);
if (!work) fail('usage: config-update.cjs add-org WORK MSP_ID HOST PORT | envelope WORK CHANNEL');
if (command === 'add-org') addOrg(work, rest[0], rest[1], rest[2]);
else if (command === 'envelope') envelope(work, rest[0]);
else fail(`unknown command "${command}"; expected add-org or envelope`);
