// Quote a basket, then place the order at that price with an Idempotency-Key
// (a retry after a timeout answers the same order, not a second one).
//
//   KEFU_API_URL=http://127.0.0.1:8080 KEFU_BUYER_TOKEN=… node dist/examples/quote-and-order.js
//
// Type-checked (and compiled) by `npm run build`.

import { pathToFileURL } from 'node:url';

import {
  createKefuClient,
  createOrder,
  idempotencyKey,
  quoteBasket,
  searchProducts,
  type Address,
  type KefuError,
  type Order,
  type OrderLineWritable,
} from '@kefu/client';

const address: Address = {
  province: '浙江省',
  city: '杭州市',
  district: '西湖区',
  street: '文三路 398 号 5 幢 302 室',
  contact_name: '李雷',
  contact_phone: '13800138000',
};

export async function quoteAndOrder(baseUrl: string, buyerToken: string): Promise<Order> {
  const client = createKefuClient({ baseUrl, token: buyerToken });

  // Find a thermos in the demo shop (anonymous callers may search too).
  const found = await searchProducts({
    client,
    body: { query: '保温杯', filter: { shop_id: 'shop_demo', in_stock_only: true } },
  });
  if (found.error) {
    throw new Error(describe(found.error));
  }
  const product = found.data.products?.[0];
  // A SKU with stock (stock is an int64: a decimal string), else the first.
  const sku = product?.skus?.find((k) => BigInt(k.stock ?? '0') > 0n) ?? product?.skus?.[0];
  if (!product?.product_id) {
    throw new Error('no thermos in shop_demo');
  }
  const lines: OrderLineWritable[] = [
    { product_id: product.product_id, quantity: 1, ...(sku?.sku_id ? { sku_id: sku.sku_id } : {}) },
  ];

  // Price it: the best plan of promotions and coupons.
  const quoted = await quoteBasket({ client, body: { shop_id: 'shop_demo', lines } });
  if (quoted.error) {
    throw new Error(describe(quoted.error));
  }
  const total = quoted.data.quote?.best_plan?.total_fen; // int64 fen: a decimal string
  console.log(`quoted ${total ?? '?'} fen: ${quoted.data.quote?.best_plan?.summary ?? ''}`);

  // Place it; expected_total_fen refuses the order if the price moved since.
  const key = idempotencyKey(); // keep it: a retry with the same key is safe
  const placed = await createOrder({
    client,
    body: { shop_id: 'shop_demo', kind: 'ORDER_KIND_NORMAL', lines, address },
    query: total ? { expected_total_fen: total } : {},
    headers: key,
  });
  if (placed.error) {
    // 409 FAILED_PRECONDITION when the price changed: quote again.
    throw new Error(describe(placed.error));
  }
  const order = placed.data.order;
  if (!order) {
    throw new Error('the gateway answered without an order');
  }
  return order;
}

function describe(e: KefuError): string {
  const violations = (e.error.field_violations ?? []).map((v) => `${v.field}: ${v.description}`);
  return [`${e.error.status} (${e.error.code}): ${e.error.message}`, ...violations].join('\n  ');
}

// Run directly: print the order.
const baseUrl = process.env['KEFU_API_URL'];
const token = process.env['KEFU_BUYER_TOKEN'];
const main = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (main && baseUrl && token) {
  const order = await quoteAndOrder(baseUrl, token);
  console.log(`${order.order_id ?? '?'} ${order.state ?? '?'}: ${order.lines.length} line(s), ${order.price?.total_fen ?? '?'} fen`);
}
