/**
 * Tests of the e2e harness itself: openPeers gives isolated devices, and two of them can open a
 * real WebRTC data channel (which needs the private network namespace the harness makes).
 */
import { expect, test } from './fixtures.ts';

test('openPeers gives separate devices: storage written in one is not seen by another', async ({ openPeers }) => {
  const [a, b, c] = await openPeers(3);
  await a.page.evaluate(() => localStorage.setItem('who', 'a'));
  await a.page.evaluate(
    () => new Promise<void>((resolve, reject) => {
      const req = indexedDB.open('harness-probe', 1);
      req.onupgradeneeded = () => req.result.createObjectStore('s');
      req.onsuccess = () => {
        const tx = req.result.transaction('s', 'readwrite');
        tx.objectStore('s').put('a', 'who');
        tx.oncomplete = () => resolve();
        tx.onerror = () => reject(tx.error);
      };
      req.onerror = () => reject(req.error);
    }),
  );
  for (const other of [b, c]) {
    expect(await other.page.evaluate(() => localStorage.getItem('who'))).toBeNull();
    expect(await other.page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name))).not.toContain('harness-probe');
  }
  expect(await a.page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name))).toContain('harness-probe');
});

test('two devices open a WebRTC data channel and exchange a message', async ({ openPeers }) => {
  const [a, b] = await openPeers(2);
  // Signals are carried by the test itself here; Backpact's own signaling is tested elsewhere.
  await b.page.evaluate(() => {
    const pc = new RTCPeerConnection({ iceServers: [] });
    (globalThis as Record<string, unknown>).pc = pc;
    (globalThis as Record<string, unknown>).received = new Promise((resolve) => {
      pc.ondatachannel = (e) => { e.channel.onmessage = (m) => resolve(m.data); };
    });
  });
  const offer = await a.page.evaluate(async () => {
    const pc = new RTCPeerConnection({ iceServers: [] });
    (globalThis as Record<string, unknown>).pc = pc;
    const ch = pc.createDataChannel('probe');
    (globalThis as Record<string, unknown>).opened = new Promise<void>((r) => { ch.onopen = () => { ch.send('hello from a'); r(); }; });
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise<void>((r) => { if (pc.iceGatheringState === 'complete') r(); else pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r(); });
    return pc.localDescription!.toJSON();
  });
  expect(offer.sdp).toMatch(/a=candidate:/);
  const answer = await b.page.evaluate(async (o) => {
    const pc = (globalThis as Record<string, unknown>).pc as RTCPeerConnection;
    await pc.setRemoteDescription(o);
    await pc.setLocalDescription(await pc.createAnswer());
    await new Promise<void>((r) => { if (pc.iceGatheringState === 'complete') r(); else pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r(); });
    return pc.localDescription!.toJSON();
  }, offer);
  await a.page.evaluate(async (ans) => {
    const pc = (globalThis as Record<string, unknown>).pc as RTCPeerConnection;
    await pc.setRemoteDescription(ans);
    await (globalThis as Record<string, unknown>).opened;
  }, answer);
  expect(await b.page.evaluate(() => (globalThis as Record<string, unknown>).received)).toBe('hello from a');
});
