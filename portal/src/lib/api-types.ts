import type { z } from 'zod';

import type { components } from '../api/generated/gateway-api';

/** A schema of the gateway's OpenAPI document, as openapi-typescript generated it. */
export type ApiSchema<Name extends keyof components['schemas']> = components['schemas'][Name];

/**
 * `true` when every answer the generated type allows is accepted by the zod schema beside a query hook,
 * so `tsc` fails when the gateway's document and the portal's checks drift apart.
 */
export type Accepts<Schema extends z.ZodType, Dto> = Dto extends z.input<Schema> ? true : false;
export type Assert<T extends true> = T;
