// SPDX-License-Identifier: MIT
// The customer display in a browser: follows /events and shows each screen as it arrives.
// No libraries, no storage, no request beyond this origin's /events.
'use strict';
(function () {
	const OFFLINE_AFTER_MS = 5000; // without a connection, stop showing the last screen
	const REOPEN_MS = 2000; // when the browser gives up on the stream (e.g. a 503)
	const FIELDS = ['store', 'title_zh', 'title_en', 'amount', 'reason_zh', 'reason_en',
		'reason_text', 'reason_code', 'sub_zh', 'sub_en', 'subject'];
	const $ = (id) => document.getElementById(id);
	let offlineTimer = null;
	let tickTimer = null;
	let deadline = 0;
	let lang = 'both';

	function setText(id, value) {
		const e = $(id);
		e.textContent = value || '';
		e.hidden = !value;
	}

	function mmss(s) {
		s = Math.max(0, Math.min(5999, s));
		return Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0');
	}

	function tick() {
		const left = Math.max(0, Math.ceil((deadline - performance.now()) / 1000));
		const t = mmss(left);
		setText('countdown', lang === 'zh' ? '剩余 ' + t : lang === 'en' ? 'Expires in ' + t
			: '剩余 ' + t + ' · Expires in ' + t);
	}

	// An integer number of pixels per module, as on the pixel screens.
	function fitQr() {
		const box = $('qrbox');
		const svg = box.querySelector('svg');
		if (!svg)
			return;
		const modules = svg.viewBox.baseVal.width;
		const avail = Math.min(box.clientWidth, box.clientHeight);
		const px = Math.max(1, Math.floor(avail / modules)) * modules;
		svg.setAttribute('width', px);
		svg.setAttribute('height', px);
	}

	function showQr(st) {
		const box = $('qrbox');
		if (st.qr) {
			// The symbol comes as SVG drawn by the daemon from the order's qr_code.
			const doc = new DOMParser().parseFromString(st.qr, 'image/svg+xml');
			const svg = doc.documentElement;
			if (svg.nodeName === 'svg') {
				box.replaceChildren(document.importNode(svg, true));
				fitQr();
				return;
			}
		}
		const msg = document.createElement('p');
		msg.className = 'qr-error';
		msg.textContent = st.screen === 'qr' ? '二维码无法显示 QR code cannot be shown' : '';
		box.replaceChildren(msg);
	}

	function show(st) {
		document.body.classList.remove('offline');
		document.body.dataset.screen = st.screen;
		lang = st.lang || 'both';
		for (const f of FIELDS)
			setText(f, st[f]);
		clearInterval(tickTimer);
		tickTimer = null;
		if (st.screen === 'qr' && typeof st.seconds_left === 'number') {
			deadline = performance.now() + st.seconds_left * 1000;
			tick();
			tickTimer = setInterval(tick, 250);
		} else
			setText('countdown', '');
		if (st.screen === 'qr')
			showQr(st);
		else
			$('qrbox').replaceChildren();
		document.body.dataset.seq = String(st.seq);
		document.body.dataset.shownAt = String(Date.now());
	}

	function offline() {
		offlineTimer = null;
		clearInterval(tickTimer);
		tickTimer = null;
		$('qrbox').replaceChildren();
		document.body.classList.add('offline');
		document.body.dataset.screen = 'offline';
	}

	function connect() {
		const es = new EventSource('/events');
		es.onopen = () => {
			clearTimeout(offlineTimer);
			offlineTimer = null;
		};
		es.onmessage = (ev) => {
			let st;
			try {
				st = JSON.parse(ev.data);
			} catch (e) {
				return;
			}
			if (st && typeof st.screen === 'string')
				show(st);
		};
		es.onerror = () => {
			if (!offlineTimer && !document.body.classList.contains('offline'))
				offlineTimer = setTimeout(offline, OFFLINE_AFTER_MS);
			// The browser retries by itself after a dropped connection, not after a refusal.
			if (es.readyState === EventSource.CLOSED)
				setTimeout(connect, REOPEN_MS);
		};
	}

	window.addEventListener('resize', fitQr);
	connect();
})();
