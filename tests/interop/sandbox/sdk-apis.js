// SPDX-License-Identifier: MIT
// The official Node SDK against f2fpay-sandbox: every API and every scenario digit, with
// validateSign: true. Usage: node sdk-apis.js SANDBOX_BINARY http|https|cert
'use strict';
// doc/protocol.md §2/§9: the SDK stamps local time; Alipay wants Beijing time.
process.env.TZ = 'Asia/Shanghai';
const path = require('node:path');
const { AlipaySdk } = require('alipay-sdk');
const h = require('./harness.js');
const { assert } = h;

const [bin, mode] = process.argv.slice(2);
const APP_ID = '2021000000000001';
let seq = 0;
const otn = (tag) => `${tag}_${process.pid}_${Date.now()}_${++seq}`;
const code = h.paycode; // a fresh code per pay: the sandbox takes each once

function makeSdk(url, extra = {}) {
  const cfg = {
    appId: APP_ID,
    privateKey: h.read(path.join(h.keys, 'app-private.pem')),
    keyType: 'PKCS8',
    gateway: `${url}/gateway.do`,
    timeout: 5000,
    ...extra,
  };
  if (mode === 'cert') {
    cfg.appCertContent = h.read(path.join(h.certs, 'app-cert.pem'));
    cfg.alipayPublicCertContent = h.read(path.join(h.certs, 'alipay-cert.pem'));
    cfg.alipayRootCertContent = h.read(path.join(h.certs, 'root.pem'));
  } else {
    cfg.alipayPublicKey = h.read(path.join(h.keys, 'alipay-public.pem'));
  }
  return new AlipaySdk(cfg);
}

async function main() {
  const sb = await h.startSandbox(bin, [...h.keyArgs(mode), ...h.tlsArgs(mode),
    '--confirm-after', '0.3', '--slow-delay', '3']);
  assert.match(sb.url, mode === 'https' ? /^https:\/\/127\.0\.0\.1:\d+$/ : /^http:\/\/127\.0\.0\.1:\d+$/);
  const sdk = makeSdk(sb.url);
  const exec = (m, biz, opts = {}) => sdk.exec(m, { bizContent: biz }, { validateSign: true, ...opts });
  const pay = (o, digit, amount = '88.88', extra = {}) => exec('alipay.trade.pay', {
    out_trade_no: o, scene: 'bar_code', auth_code: digit.length > 1 ? digit : code(digit),
    subject: '测试商品 a/b', total_amount: amount, store_id: 'S001', ...extra,
  });
  const query = (o) => exec('alipay.trade.query', { out_trade_no: o });
  const cancel = (o) => exec('alipay.trade.cancel', { out_trade_no: o });
  const trades = async () => (await fetch(`${sb.url}/sim/trades`)).json();
  const ledger = async (o) => {
    const one = (await (await fetch(`${sb.url}/sim/trades?out_trade_no=${encodeURIComponent(o)}`)).json()).trades;
    assert.equal(one.length, 1);
    return one[0];
  };
  const scan = async (qr, payIt) => {
    const r = await fetch(`${sb.url}/sim/scan-qr`, { method: 'POST', body: JSON.stringify({ qr_code: qr, pay: payIt }) });
    return { status: r.status, body: await r.json() };
  };
  const waitStatus = async (o, status) => {
    for (let i = 0; i < 200; i++) {
      const q = await query(o);
      if (q.tradeStatus === status) return q;
      await h.sleep(50);
    }
    throw new Error(`${o} never reached ${status}`);
  };

  const cases = [
    ['digit 0: paid at once, fields per doc/protocol.md §5.1', async () => {
      const o = otn('d0');
      const r = await pay(o, '0');
      assert.equal(r.code, '10000');
      assert.match(r.tradeNo, /^\d{28}$/);
      assert.equal(r.outTradeNo, o);
      assert.match(r.buyerLogonId, /^[a-z]{3}\*\*\*@example\.com$/);
      assert.match(r.buyerUserId, /^2088\d{12}$/);
      assert.equal(r.totalAmount, '88.88');
      assert.equal(r.receiptAmount, '88.88');
      assert.match(r.gmtPayment, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      assert.equal(r.fundBillList[0].amount, '88.88');
      assert.equal((await query(o)).tradeStatus, 'TRADE_SUCCESS');
    }],
    ['digit 1: 10003, buyer confirms after --confirm-after', async () => {
      const o = otn('d1');
      const r = await pay(o, '1');
      assert.equal(r.code, '10003');
      assert.equal(r.msg, ' order success pay inprocess');
      await waitStatus(o, 'TRADE_SUCCESS');
    }],
    ['digit 2: 10003, never confirms, cancel closes', async () => {
      const o = otn('d2');
      assert.equal((await pay(o, '2')).code, '10003');
      assert.equal((await query(o)).tradeStatus, 'WAIT_BUYER_PAY');
      const c = await cancel(o);
      assert.equal(c.code, '10000');
      assert.equal(c.action, 'close');
      assert.equal(c.retryFlag, 'N');
      assert.equal((await query(o)).tradeStatus, 'TRADE_CLOSED');
    }],
    ['digit 3: ACQ.BUYER_BALANCE_NOT_ENOUGH', async () => {
      const r = await pay(otn('d3'), '3');
      assert.equal(r.code, '40004');
      assert.equal(r.subCode, 'ACQ.BUYER_BALANCE_NOT_ENOUGH');
    }],
    ['digit 4: ACQ.PAYMENT_AUTH_CODE_INVALID', async () => {
      const o = otn('d4');
      const r = await pay(o, '4');
      assert.equal(r.code, '40004');
      assert.equal(r.subCode, 'ACQ.PAYMENT_AUTH_CODE_INVALID');
      assert.equal((await query(o)).subCode, 'ACQ.TRADE_NOT_EXIST');
    }],
    ['digit 5: 20000 ACQ.SYSTEM_ERROR but the trade succeeded', async () => {
      const o = otn('d5');
      const r = await pay(o, '5');
      assert.equal(r.code, '20000');
      assert.equal(r.subCode, 'ACQ.SYSTEM_ERROR');
      assert.equal((await query(o)).tradeStatus, 'TRADE_SUCCESS');
    }],
    ['digit 6: connection closed before any response, trade succeeded', async () => {
      const o = otn('d6');
      let threw = false, r;
      try { r = await pay(o, '6'); } catch (e) { threw = true; assert.match(e.message, /HttpClient Request error/); }
      // A client that silently re-sends (doc/protocol.md §8) sees the repeat answered TRADE_HAS_SUCCESS.
      if (!threw) assert.equal(r.subCode, 'ACQ.TRADE_HAS_SUCCESS');
      assert.equal((await query(o)).tradeStatus, 'TRADE_SUCCESS');
      const t = await ledger(o);
      assert.ok(t.pay_requests >= 1);
      console.log(`# digit 6: the SDK sent ${t.pay_requests} pay request(s) for one exec()`);
    }],
    ['digit 7: wrong response signature, trade succeeded', async () => {
      const o = otn('d7');
      await assert.rejects(pay(o, '7'), /验签失败/);
      assert.equal((await query(o)).tradeStatus, 'TRADE_SUCCESS');
    }],
    ['digit 8: first cancel 20000 retry_flag=Y, second succeeds', async () => {
      const o = otn('d8');
      assert.equal((await pay(o, '8')).code, '10003');
      const c1 = await cancel(o);
      assert.equal(c1.code, '20000');
      assert.equal(c1.retryFlag, 'Y');
      assert.equal((await query(o)).tradeStatus, 'WAIT_BUYER_PAY');
      const c2 = await cancel(o);
      assert.equal(c2.code, '10000');
      assert.equal(c2.action, 'close');
      assert.equal((await ledger(o)).cancel_requests, 2);
    }],
    ['digit 9: reply held past the client timeout, trade unpaid', async () => {
      const o = otn('d9');
      const slow = makeSdk(sb.url, { timeout: 500 });
      await assert.rejects(slow.exec('alipay.trade.pay', { bizContent: {
        out_trade_no: o, scene: 'bar_code', auth_code: code('9'), subject: 'x', total_amount: '1.00' } },
      { validateSign: true }), /HttpClient Request error/);
      assert.equal((await query(o)).tradeStatus, 'WAIT_BUYER_PAY');
    }],
    ['other valid codes behave as 0; invalid codes are rejected', async () => {
      assert.equal((await pay(otn('v16'), '2512345678901234')).code, '10000');
      assert.equal((await pay(otn('v24'), '301234567890123456789012')).code, '10000');
      assert.equal((await pay(otn('v18'), '130000000000000000')).subCode, 'ACQ.PAYMENT_AUTH_CODE_INVALID');
      assert.equal((await pay(otn('v15'), '281234567890123')).subCode, 'ACQ.PAYMENT_AUTH_CODE_INVALID');
      assert.equal((await pay(otn('vx'), '28123456789012345x')).subCode, 'ACQ.PAYMENT_AUTH_CODE_INVALID');
    }],
    ['out_trade_no reuse: other parameters inconsistent, same ones already paid', async () => {
      const o = otn('reuse');
      assert.equal((await pay(o, '0', '10.00')).code, '10000');
      assert.equal((await pay(o, '0', '10.01')).subCode, 'ACQ.CONTEXT_INCONSISTENT');
      assert.equal((await pay(o, '0', '10.00')).subCode, 'ACQ.TRADE_HAS_SUCCESS');
      assert.equal((await ledger(o)).pay_requests, 3);
    }],
    ['refund: partial, idempotent repeat, discordant repeat, over-refund, rest', async () => {
      const o = otn('ref');
      assert.equal((await pay(o, '0', '100.00')).code, '10000');
      const refund = (no, amt) => exec('alipay.trade.refund', { out_trade_no: o, refund_amount: amt, out_request_no: no });
      let r = await refund('r1', '30.00');
      assert.equal(r.code, '10000');
      assert.equal(r.fundChange, 'Y');
      assert.equal(r.refundFee, '30.00');
      r = await refund('r1', '30.00');
      assert.equal(r.fundChange, 'N');
      assert.equal(r.refundFee, '30.00');
      assert.equal((await refund('r1', '31.00')).subCode, 'ACQ.DISCORDANT_REPEAT_REQUEST');
      assert.equal((await refund('r2', '70.01')).subCode, 'ACQ.REFUND_AMT_NOT_EQUAL_TOTAL');
      r = await refund('r2', '70.00');
      assert.equal(r.fundChange, 'Y');
      assert.equal(r.refundFee, '100.00');
      assert.equal((await query(o)).tradeStatus, 'TRADE_CLOSED');
      const t = await ledger(o);
      assert.equal(t.refunds.length, 2);
      assert.equal(t.refunds[0].requests, 3);
      const rq = await exec('alipay.trade.fastpay.refund.query', { out_trade_no: o, out_request_no: 'r1' });
      assert.equal(rq.code, '10000');
      assert.equal(rq.refundAmount, '30.00');
      const none = await exec('alipay.trade.fastpay.refund.query', { out_trade_no: o, out_request_no: 'r9' });
      assert.equal(none.code, '10000');
      assert.equal(none.refundAmount, undefined);
    }],
    ['refund of an unpaid or unknown trade fails', async () => {
      const o = otn('refw');
      await pay(o, '2');
      const r = await exec('alipay.trade.refund', { out_trade_no: o, refund_amount: '1.00', out_request_no: 'x' });
      assert.equal(r.subCode, 'ACQ.TRADE_STATUS_ERROR');
      const u = await exec('alipay.trade.refund', { out_trade_no: otn('nope'), refund_amount: '1.00', out_request_no: 'x' });
      assert.equal(u.subCode, 'ACQ.TRADE_NOT_EXIST');
    }],
    ['cancel of a paid trade refunds it (action=refund)', async () => {
      const o = otn('cpaid');
      await pay(o, '0', '5.00');
      const c = await cancel(o);
      assert.equal(c.code, '10000');
      assert.equal(c.action, 'refund');
      assert.equal((await query(o)).tradeStatus, 'TRADE_CLOSED');
      assert.equal((await ledger(o)).refund_fee, '5.00');
      assert.equal((await cancel(o)).action, 'refund'); // a repeat answers the same
    }],
    ['cancel of an out_trade_no never seen: success without action, number closed', async () => {
      const o = otn('cnone');
      const c = await cancel(o);
      assert.equal(c.code, '10000');
      assert.equal(c.retryFlag, 'N');
      assert.equal(c.action, undefined);
      assert.equal((await cancel(o)).action, undefined);
      assert.equal((await pay(o, '0')).subCode, 'ACQ.TRADE_HAS_CLOSE');
      const t = await exec('alipay.trade.cancel', { trade_no: '2026010122000000000000000000' });
      assert.equal(t.subCode, 'ACQ.TRADE_NOT_EXIST');
    }],
    ['close: unpaid trade closed, paid trade refused', async () => {
      const o = otn('close');
      await pay(o, '2');
      assert.equal((await exec('alipay.trade.close', { out_trade_no: o })).code, '10000');
      assert.equal((await query(o)).tradeStatus, 'TRADE_CLOSED');
      const p = otn('closep');
      await pay(p, '0');
      assert.equal((await exec('alipay.trade.close', { out_trade_no: p })).subCode, 'ACQ.TRADE_STATUS_ERROR');
    }],
    ['precreate: no trade until scanned, then WAIT_BUYER_PAY, then paid', async () => {
      const o = otn('qr');
      const r = await exec('alipay.trade.precreate', { out_trade_no: o, subject: '扫码', total_amount: '12.34' });
      assert.equal(r.code, '10000');
      assert.match(r.qrCode, /^https:\/\/qr\.alipay\.com\/bax0[a-z0-9]+$/);
      const r2 = await exec('alipay.trade.precreate', { out_trade_no: otn('qr2'), subject: 'y', total_amount: '1.00' });
      assert.notEqual(r2.qrCode, r.qrCode);
      assert.equal((await query(o)).subCode, 'ACQ.TRADE_NOT_EXIST');
      assert.equal((await exec('alipay.trade.close', { out_trade_no: o })).subCode, 'ACQ.TRADE_NOT_EXIST');
      let s = await scan(r.qrCode, false);
      assert.equal(s.status, 200);
      assert.equal((await query(o)).tradeStatus, 'WAIT_BUYER_PAY');
      s = await scan(r.qrCode, true);
      assert.equal(s.body.trade_status, 'TRADE_SUCCESS');
      assert.equal((await query(o)).tradeStatus, 'TRADE_SUCCESS');
      assert.equal((await scan(r.qrCode, true)).status, 409);
    }],
    ['precreate cancelled before a scan: the QR is dead', async () => {
      const o = otn('qrc');
      const r = await exec('alipay.trade.precreate', { out_trade_no: o, subject: 'x', total_amount: '2.00' });
      const c = await cancel(o);
      assert.equal(c.code, '10000');
      assert.equal(c.action, 'close');
      assert.equal((await scan(r.qrCode, true)).status, 410);
      assert.equal((await query(o)).subCode, 'ACQ.TRADE_NOT_EXIST');
    }],
    ['bill download URL serves a zip; a future day has no bill', async () => {
      const today = new Date().toLocaleDateString('sv-SE'); // yyyy-MM-dd in TZ
      const r = await exec('alipay.data.dataservice.bill.downloadurl.query', { bill_type: 'trade', bill_date: today });
      assert.equal(r.code, '10000');
      assert.ok(r.billDownloadUrl.startsWith(`${sb.url}/downloadBillFile.resource?`));
      const z = await fetch(r.billDownloadUrl);
      assert.equal(z.status, 200);
      const buf = Buffer.from(await z.arrayBuffer());
      assert.equal(buf.subarray(0, 2).toString('latin1'), 'PK');
      const f = await exec('alipay.data.dataservice.bill.downloadurl.query', { bill_type: 'trade', bill_date: '2099-01-01' });
      assert.equal(f.subCode, 'isp.bill_not_exist');
    }],
    ['RSA (SHA1) requests and responses', async () => {
      const rsa = makeSdk(sb.url, { signType: 'RSA' });
      const o = otn('rsa');
      const r = await rsa.exec('alipay.trade.pay', { bizContent: {
        out_trade_no: o, scene: 'bar_code', auth_code: code('0'), subject: 'x', total_amount: '1.00' } }, { validateSign: true });
      assert.equal(r.code, '10000');
    }],
    ['bad signature: signed isv.invalid-signature quoting the string, HTML-escaped', async () => {
      const bad = makeSdk(sb.url, { privateKey: h.read(path.join(h.keys, 'alipay-private.pem')) });
      const r = await bad.exec('alipay.trade.query', { bizContent: { out_trade_no: 'a"b' } }, { validateSign: true });
      assert.equal(r.code, '40002');
      assert.equal(r.subCode, 'isv.invalid-signature');
      assert.match(r.subMsg, /app_id=2021000000000001&amp;biz_content=\{&quot;out_trade_no&quot;:&quot;a\\&quot;b&quot;\}&amp;charset=utf-8/);
    }],
    ['unknown app_id: unsigned isv.invalid-app-id', async () => {
      const other = makeSdk(sb.url, { appId: '2021000000000999' });
      const r = await other.exec('alipay.trade.query', { bizContent: { out_trade_no: 'x' } });
      assert.equal(r.code, '40002');
      assert.equal(r.subCode, 'isv.invalid-app-id');
      await assert.rejects(other.exec('alipay.trade.query', { bizContent: { out_trade_no: 'x' } }, { validateSign: true }));
    }],
    ['timestamp in the wrong time zone: isv.invalid-timestamp', async () => {
      process.env.TZ = 'America/New_York';
      try {
        const r = await exec('alipay.trade.query', { out_trade_no: 'x' });
        assert.equal(r.subCode, 'isv.invalid-timestamp');
      } finally {
        process.env.TZ = 'Asia/Shanghai';
      }
    }],
    ['unknown method: isv.invalid-method', async () => {
      const r = await sdk.exec('alipay.trade.nosuch', { bizContent: { a: 1 } });
      assert.equal(r.code, '40002');
      assert.equal(r.subCode, 'isv.invalid-method');
    }],
    ['40 concurrent pays: all paid, distinct trade numbers', async () => {
      const os = Array.from({ length: 40 }, (_, i) => otn(`par${i}`));
      const rs = await Promise.all(os.map((o) => pay(o, '0', '0.01')));
      for (const r of rs) assert.equal(r.code, '10000');
      assert.equal(new Set(rs.map((r) => r.tradeNo)).size, 40);
      const all = (await trades()).trades.filter((t) => os.includes(t.out_trade_no));
      assert.equal(all.length, 40);
      for (const t of all) assert.equal(t.pay_requests, 1);
    }],
    ['/sim/trades counts requests per out_trade_no', async () => {
      const o = otn('count');
      await pay(o, '2');
      await query(o);
      await query(o);
      await cancel(o);
      const t = await ledger(o);
      assert.equal(t.pay_requests, 1);
      assert.equal(t.query_requests, 2);
      assert.equal(t.cancel_requests, 1);
    }],
  ];
  if (mode === 'cert') {
    cases.push(['certificate mode: alipay_cert_sn between the node and sign, as the SDK computes it', async () => {
      const util = require(path.join(path.dirname(require.resolve('alipay-sdk')), 'util.js'));
      const p = util.sign('alipay.trade.query', { bizContent: { out_trade_no: 'x' } }, sdk.config);
      const r = await fetch(`${sb.url}/gateway.do`, { method: 'POST', body: new URLSearchParams(p) });
      const raw = await r.text();
      assert.match(raw, new RegExp(`\\},"alipay_cert_sn":"${sdk.config.alipayCertSn}","sign":"[A-Za-z0-9+/=]+"\\}$`));
      assert.equal(p.app_cert_sn, sdk.config.appCertSn);
      const bad = { ...p, app_cert_sn: '0'.repeat(32) };
      const r2 = await (await fetch(`${sb.url}/gateway.do`, { method: 'POST', body: new URLSearchParams(bad) })).text();
      assert.match(r2, /isv\.invalid-app-cert-sn/);
    }]);
  }
  const failed = await h.runCases(`sdk ${mode}`, cases);
  const st = await sb.stop();
  if (st.code !== 0) {
    console.log(`sandbox exit: ${JSON.stringify(st)}`);
    process.exit(1);
  }
  process.exit(failed ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(1); });
