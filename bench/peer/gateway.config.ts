/**
 * Hive Gateway settings of the bench peer (`hive-gateway supergraph -c gateway.config.ts`).
 * Defaults otherwise: no response cache, no JIT, masked errors, as a team would deploy it first.
 */
import { defineConfig } from '@graphql-hive/gateway';

export const gatewayConfig = defineConfig({
  supergraph: './supergraph.graphql',
});
