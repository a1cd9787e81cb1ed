/**
 * GraphQL Mesh composition of the bench peer: Shopify and Zendesk from the OpenAPI
 * descriptions in ./openapi, joined by additional type definitions, written to
 * supergraph.graphql (`npm run compose`, or bench/peer/hive.py `compose()`).
 *
 * Nothing environment-specific is baked in: the base URLs and credentials are templates that
 * Hive Gateway fills from its own environment on every upstream request —
 *   C360_PEER_SHOPIFY_URL    e.g. http://127.0.0.1:8101 (the Shopify silo, no path)
 *   C360_PEER_SHOPIFY_TOKEN  the Admin API access token
 *   C360_PEER_ZENDESK_URL    e.g. http://127.0.0.1:8103
 *   C360_PEER_ZENDESK_BASIC  base64 of `{email}/token:{api_token}`
 * so the committed supergraph.graphql serves any sandbox. Only the Shopify API version is read
 * at composition time (C360_PEER_SHOPIFY_API_VERSION, default 2026-07, the sandbox's).
 */
import { defineConfig } from '@graphql-mesh/compose-cli';
import { loadOpenAPISubgraph } from '@omnigraph/openapi';

const shopifyVersion = process.env.C360_PEER_SHOPIFY_API_VERSION ?? '2026-07';

export const composeConfig = defineConfig({
  output: 'supergraph.graphql',
  subgraphs: [
    {
      sourceHandler: loadOpenAPISubgraph('Shopify', {
        source: './openapi/shopify.yaml',
        endpoint: `{env.C360_PEER_SHOPIFY_URL}/admin/api/${shopifyVersion}`,
        operationHeaders: {
          'X-Shopify-Access-Token': '{env.C360_PEER_SHOPIFY_TOKEN}',
        },
      }),
    },
    {
      sourceHandler: loadOpenAPISubgraph('Zendesk', {
        source: './openapi/zendesk.yaml',
        endpoint: '{env.C360_PEER_ZENDESK_URL}/api/v2',
        operationHeaders: {
          Authorization: 'Basic {env.C360_PEER_ZENDESK_BASIC}',
        },
      }),
    },
  ],
  // The joins. Mesh knows no identity: a Shopify customer's Zendesk users are the users whose
  // email Zendesk's own search finds for the Shopify email (case-insensitive, exact otherwise).
  additionalTypeDefs: /* GraphQL */ `
    extend type ShopifyCustomer {
      """This customer's orders, newest first, every status (one orders.json call per customer)."""
      orders(first: Int = 10): [ShopifyOrder]
        @resolveTo(
          sourceName: "Shopify"
          sourceTypeName: "Query"
          sourceFieldName: "shopifyOrders"
          requiredSelectionSet: "{ id }"
          sourceArgs: { customer_id: "{root.id}", status: "any", limit: "{args.first}" }
          result: "orders"
        )
      """Zendesk users whose email is this customer's email (one users/search.json per customer)."""
      zendeskUsers: [ZendeskUser]
        @resolveTo(
          sourceName: "Zendesk"
          sourceTypeName: "Query"
          sourceFieldName: "zendeskUserSearch"
          requiredSelectionSet: "{ email }"
          sourceArgs: { query: "email:{root.email}" }
          result: "users"
        )
    }

    extend type ZendeskUser {
      """Tickets this user requested (one requested.json call per user; Zendesk has no batch)."""
      requestedTickets: [ZendeskTicket]
        @resolveTo(
          sourceName: "Zendesk"
          sourceTypeName: "Query"
          sourceFieldName: "zendeskRequestedTickets"
          requiredSelectionSet: "{ id }"
          sourceArgs: { user_id: "{root.id}", per_page: "100" }
          result: "tickets"
        )
    }

    extend type ShopifyLineItem {
      """The product, batched: every line item of the request in one products.json?ids= call."""
      product: ShopifyProduct
        @resolveTo(
          sourceName: "Shopify"
          sourceTypeName: "Query"
          sourceFieldName: "shopifyProducts"
          requiredSelectionSet: "{ product_id }"
          keyField: "product_id"
          keysArg: "ids"
          valueKeyField: "id"
          additionalArgs: { limit: "250" }
          result: "products"
        )
    }

    extend type ZendeskTicket {
      """The requester, batched: every ticket of the request in one users/show_many.json call."""
      requester: ZendeskUser
        @resolveTo(
          sourceName: "Zendesk"
          sourceTypeName: "Query"
          sourceFieldName: "zendeskUsersShowMany"
          requiredSelectionSet: "{ requester_id }"
          keyField: "requester_id"
          keysArg: "ids"
          valueKeyField: "id"
          result: "users"
        )
    }
  `,
});
