// SPDX-License-Identifier: MIT
// A scan payment and its reversal from a Node POS (no packages): create the order, wait for
// the event saying it settled, read it by pos_ref, and reverse it with a refund of the whole
// amount (a paid order is not canceled).
// Usage: node pay.mjs AUTH_CODE POS_REF   (F2FPAY_SOCKET: default /run/f2fpay/api.sock)
import http from 'node:http';

const socketPath = process.env.F2FPAY_SOCKET || '/run/f2fpay/api.sock';
const [code, ref] = process.argv.slice(2);

function api(method, path, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request({socketPath, method, path, headers: data ?
      {'Content-Type': 'application/json', ...headers} : headers}, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => {
        const j = text ? JSON.parse(text) : null;
        if (res.statusCode >= 400) reject(new Error(`${method} ${path}: ${res.statusCode} ${j.error.message}`));
        else resolve(j);
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

// Resolves with the first order event for `id` that is final.
function settled(id) {
  return new Promise((resolve, reject) => {
    const req = http.get({socketPath, path: '/v1/events'}, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        buf += chunk;
        let end;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const ev = {};
          for (const line of block.split('\n')) {
            const i = line.indexOf(': ');
            if (i > 0) ev[line.slice(0, i)] = line.slice(i + 2);
          }
          if (ev.event !== 'order') continue;
          const o = JSON.parse(ev.data);
          if (o.id === id && o.final) { req.destroy(); resolve(o); }
        }
      });
    });
    req.on('error', (e) => { if (e.code !== 'ECONNRESET') reject(e); });
    req.setTimeout(60000, () => reject(new Error('no event')));
  });
}

const order = await api('POST', '/v1/orders', {amount: '3.30', auth_code: code, pos_ref: ref});
console.log('created', order.id);
// The order may settle before the stream is open: read it once more after subscribing.
const waiting = settled(order.id);
const now = await api('GET', `/v1/orders/${order.id}`);
const done = now.final ? now : await waiting;
console.log('state', done.state);
const byRef = await api('GET', `/v1/orders/by-pos-ref/${encodeURIComponent(ref)}`);
console.log('found by pos_ref', byRef.id === order.id);
try {
  await api('POST', `/v1/orders/${order.id}/cancel`);
} catch (e) {
  console.log('cancel refused:', e.message.includes('not_cancelable') || e.message.includes('refund'));
}
const refund = await api('POST', `/v1/orders/${order.id}/refunds`, {amount: done.amount},
                         {'Idempotency-Key': `${ref}-reverse`});
console.log('refund', refund.id, refund.amount);
process.exit(0);
