import type { CommandContext } from '../command-context';
import { GatewayClient } from '../gateway/gateway.client';
import { loadSession } from '../gateway/session.store';
import { readStackState } from '../stack/stack.state';

export const GATEWAY_OPTION = [
  '--gateway <url>',
  "the gateway's base URL (default: the signed-in one, else the org's gateway of `decenter up`)",
] as const;
export const HOME_OPTION = ['--home <dir>', 'DECENTER_HOME (default: <repo>/.decenter)'] as const;

/** The gateway of `org` as `decenter up` started it, else the first gateway's default port. */
export async function gatewayUrlFor(home: string, org: string, explicit?: string): Promise<string> {
  if (explicit !== undefined) return new URL(explicit).toString();
  const state = await readStackState(home);
  return state?.gateways.find((gateway) => gateway.org === org)?.url ?? 'http://127.0.0.1:8081';
}

/** A client signed in with the stored session (`decenter login`). */
export async function signedInClient(
  context: CommandContext,
  options: { home?: string; gateway?: string },
): Promise<{ client: GatewayClient; home: string }> {
  const home = context.home(options.home);
  const session = await loadSession(home);
  return { client: new GatewayClient(options.gateway ?? session.gateway, session.token), home };
}
