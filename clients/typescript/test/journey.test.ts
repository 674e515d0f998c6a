// The buyer's journey against a live stack, through the generated client
// only: search, quote, place (with an Idempotency-Key, retried), pay, the shop
// ships, the buyer confirms receipt and opens a seven-day no-reason return —
// the calls and bodies of gateway/e2e/journey_test.go, typed. Errors come back
// in the one error shape, typed as KefuError. Last, examples/quote-and-order.ts
// runs against the same stack.
//
//   KEFU_API_URL      the gateway, e.g. http://127.0.0.1:8080 (unset: skipped)
//   KEFU_BUYER_TOKEN  a buyer's JWT
//   KEFU_AGENT_TOKEN  an after-sale agent of shop_demo (senior_agent rank)
//
// Compiled by `npm run build` into dist/test; run with `npm run test:journey`
// (gateway/e2e/tsclient_test.go runs it against a throw-away stack).

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';

import {
  confirmReceipt,
  createCase,
  createKefuClient,
  createOrder,
  getCase,
  getOrder,
  idempotencyKey,
  isKefuError,
  payOrder,
  quoteBasket,
  searchProducts,
  shipOrder,
  type Address,
  type KefuError,
  type KefuErrorDetail,
  type KefuErrorStatus,
  type OrderLineWritable,
  type OrderWritable,
  type ShipmentWritable,
} from '@kefu/client';

import { quoteAndOrder } from '../examples/quote-and-order.js';

const baseUrl = process.env['KEFU_API_URL'];
const buyerToken = process.env['KEFU_BUYER_TOKEN'];
const agentToken = process.env['KEFU_AGENT_TOKEN'];

const address: Address = {
  province: '浙江省',
  city: '杭州市',
  district: '西湖区',
  street: '文三路 398 号 5 幢 302 室',
  contact_name: '李雷',
  contact_phone: '13800138000',
};
// OrderLineWritable, not BasketLine: the contract marks BasketLine.product_id
// optional (see README, "Contract notes"); an order line's is required.
const lines: OrderLineWritable[] = [{ product_id: 'prd_seed01', sku_id: 'sku_seed01blkL', quantity: 1 }];
const shipment: ShipmentWritable = { carrier: '顺丰速运', tracking_number: 'SF1234567890123', method: 'SHIPPING_METHOD_EXPRESS' };

// What every generated operation resolves to (responseStyle "fields", no throwOnError).
type Result<D> = ({ data: D; error: undefined } | { data: undefined; error: KefuError }) & { response: Response };

/** The data of a 200, or the test fails with the status and the error body. */
async function ok<D>(what: string, call: Promise<Result<D>>): Promise<D> {
  const r = await call;
  if (r.error !== undefined) {
    assert.fail(`${what}: HTTP ${r.response.status} ${JSON.stringify(r.error)}`);
  }
  assert.equal(r.response.status, 200, what);
  return r.data;
}

/** The typed error detail of a refused call, checked against the wanted HTTP status and code name. */
async function refused<D>(what: string, call: Promise<Result<D>>, httpStatus: number, status: KefuErrorStatus): Promise<KefuErrorDetail> {
  const r = await call;
  if (r.error === undefined) {
    assert.fail(`${what}: want ${httpStatus} ${status}, got HTTP ${r.response.status} ${JSON.stringify(r.data)}`);
  }
  assert.ok(isKefuError(r.error), `${what}: not the error shape: ${JSON.stringify(r.error)}`);
  const detail = r.error.error; // KefuErrorDetail: code, status, message, request_id, field_violations
  assert.equal(r.response.status, httpStatus, `${what}: ${JSON.stringify(r.error)}`);
  assert.equal(detail.status, status, what);
  assert.equal(detail.code, httpStatus, `${what}: error.code is the HTTP status`);
  assert.ok(detail.message.length > 0, `${what}: error.message is empty`);
  assert.ok(detail.request_id, `${what}: error.request_id is empty`);
  return detail;
}

if (!baseUrl) {
  test.skip('buyer journey through @kefu/client (set KEFU_API_URL, KEFU_BUYER_TOKEN, KEFU_AGENT_TOKEN)', () => {});
} else {
  test('buyer journey through @kefu/client', async (t) => {
    assert.ok(buyerToken, 'KEFU_BUYER_TOKEN is not set');
    assert.ok(agentToken, 'KEFU_AGENT_TOKEN is not set');
    const anonymous = createKefuClient({ baseUrl });
    const buyer = createKefuClient({ baseUrl, token: buyerToken });
    const agent = createKefuClient({ baseUrl, token: () => agentToken });
    const run = randomUUID().replaceAll('-', '').slice(0, 16); // keys unique per run: the stack may be reused

    let quotedTotal = '';
    let orderId = '';
    let lineId = '';

    await t.test('search the catalogue anonymously', async () => {
      const found = await ok(
        'search',
        searchProducts({ client: anonymous, body: { query: '保温杯', filter: { shop_id: 'shop_demo', in_stock_only: true } } }),
      );
      const first = found.products?.[0];
      assert.ok(first?.product_id, `保温杯 found nothing: ${JSON.stringify(found)}`);
      assert.equal(typeof first.price_fen, 'string', 'int64 price_fen is a JSON string');
    });

    await t.test('quote the basket', async () => {
      const quoted = await ok('quote', quoteBasket({ client: buyer, body: { shop_id: 'shop_demo', lines } }));
      const plan = quoted.quote?.best_plan;
      assert.match(plan?.total_fen ?? '', /^[0-9]+$/, `best_plan.total_fen: ${JSON.stringify(quoted)}`);
      assert.ok((plan?.lines ?? []).every((l) => l.product_id === 'prd_seed01'), 'the quoted lines are the basket');
      quotedTotal = plan?.total_fen ?? '';
    });

    await t.test('place the order with an Idempotency-Key; a retry answers the same order', async () => {
      const body: OrderWritable = { shop_id: 'shop_demo', kind: 'ORDER_KIND_NORMAL', lines, address };
      const key = `ts-order-${run}`;
      const placed = await ok('place order', createOrder({ client: buyer, body, headers: idempotencyKey(key) }));
      const order = placed.order;
      assert.ok(order?.order_id, `placed: ${JSON.stringify(placed)}`);
      assert.equal(order.state, 'ORDER_STATE_AWAITING_PAYMENT');
      assert.equal(order.price?.total_fen, quotedTotal, 'the order is priced as quoted');
      assert.equal(order.address.contact_name, '李雷');
      // lines is OrderLine[]: typed through to the line's id and quantity.
      const line = order.lines[0];
      assert.ok(line?.line_id, `no line id: ${JSON.stringify(order.lines)}`);
      assert.equal(line.quantity, 1);
      assert.equal(line.product_id, 'prd_seed01');
      orderId = order.order_id;
      lineId = line.line_id;

      const retried = await ok('retry', createOrder({ client: buyer, body, headers: idempotencyKey(key) }));
      assert.equal(retried.order?.order_id, orderId, 'a retried create made a second order');
    });

    await t.test('errors are typed in the one error shape', async () => {
      await refused('missing order', getOrder({ client: buyer, path: { order_id: 'ord_doesnotexist0000' } }), 404, 'NOT_FOUND');
      await refused('no token', getOrder({ client: anonymous, path: { order_id: orderId } }), 401, 'UNAUTHENTICATED');
      const bad = await refused(
        'bad phone',
        createOrder({
          client: buyer,
          body: { shop_id: 'shop_demo', kind: 'ORDER_KIND_NORMAL', lines, address: { ...address, contact_phone: '12345' } },
          headers: idempotencyKey(`ts-bad-${run}`),
        }),
        400,
        'INVALID_ARGUMENT',
      );
      assert.equal(bad.field_violations?.[0]?.field, 'order.address.contact_phone', JSON.stringify(bad));
    });

    await t.test('pay: AWAITING_SHIPMENT', async () => {
      const paid = await ok(
        'pay',
        payOrder({ client: buyer, path: { order_id: orderId }, body: { payment_ref: `alipay-ts-${run}`, amount_fen: quotedTotal } }),
      );
      assert.equal(paid.order?.state, 'ORDER_STATE_AWAITING_SHIPMENT');
      assert.ok(paid.order?.paid_at, 'paid_at is set');
    });

    await t.test('the buyer cannot ship; the shop ships: SHIPPED', async () => {
      await refused('buyer ships', shipOrder({ client: buyer, path: { order_id: orderId }, body: { shipment } }), 403, 'PERMISSION_DENIED');
      const shipped = await ok('ship', shipOrder({ client: agent, path: { order_id: orderId }, body: { shipment } }));
      assert.equal(shipped.order?.state, 'ORDER_STATE_SHIPPED');
      assert.equal(shipped.order?.shipments?.[0]?.shipment?.tracking_number, shipment.tracking_number);
    });

    await t.test('the buyer confirms receipt', async () => {
      const received = await ok('confirm receipt', confirmReceipt({ client: buyer, path: { order_id: orderId }, body: {} }));
      assert.ok(
        received.order?.state === 'ORDER_STATE_RECEIVED' || received.order?.state === 'ORDER_STATE_COMPLETED',
        `after confirm receipt: ${received.order?.state}`,
      );
      const got = await ok('get order', getOrder({ client: buyer, path: { order_id: orderId } }));
      assert.ok(got.order?.received_at, 'received_at is set');
    });

    await t.test('the buyer opens a seven-day no-reason return', async () => {
      const opened = await ok(
        'open return',
        createCase({
          client: buyer,
          body: {
            order_id: orderId,
            type: 'CASE_TYPE_RETURN_REFUND',
            reason: 'CASE_REASON_SEVEN_DAY_NO_REASON',
            lines: [{ order_line_id: lineId, quantity: 1 }],
            requested_amount_fen: quotedTotal,
            refund_channel: 'REFUND_CHANNEL_ORIGINAL_PATH',
          },
          headers: idempotencyKey(`ts-case-${run}`),
        }),
      );
      const c = opened.case;
      assert.ok(c?.case_id, `opened: ${JSON.stringify(opened)}`);
      assert.equal(c.state, 'CASE_STATE_AWAITING_SELLER');
      assert.equal(c.whose_move, 'PARTY_SELLER');
      assert.equal(c.timeout_table, 'TIMEOUT_TABLE_AFTER_SALE', 'a case opened after receipt runs the after-sale table');
      assert.equal(c.order_id, orderId);
      assert.ok(c.deadline && Date.parse(c.deadline) > Date.now() - 60_000, `deadline: ${c.deadline}`);

      // The shop's after-sale agent sees the same case.
      const seen = await ok('agent reads the case', getCase({ client: agent, path: { case_id: c.case_id } }));
      assert.equal(seen.case?.state, 'CASE_STATE_AWAITING_SELLER');
      assert.equal(seen.case?.lines?.[0]?.order_line_id, lineId);
    });

    await t.test('examples/quote-and-order.ts places an order at the quoted price', async () => {
      const order = await quoteAndOrder(baseUrl, buyerToken);
      assert.ok(order.order_id?.startsWith('ord_'), `order: ${JSON.stringify(order)}`);
      assert.equal(order.state, 'ORDER_STATE_AWAITING_PAYMENT');
      // One line bought; the server may add gift lines (满就送) earned by the total.
      assert.equal(order.lines.filter((l) => !l.gift).length, 1, JSON.stringify(order.lines));
    });
  });
}
