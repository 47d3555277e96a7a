/**
 * The benchmark page: the real p2p harness (Backpact links and plain data channels) plus a
 * simple-peer runner, so the peer-link benchmarks compare all three in one Chromium.
 */
import { installP2pHarness } from '../../src/e2e-harness/p2p.ts';
import { installSimplePeerRunner } from './simple-peer.ts';

globalThis.backpactHarness = globalThis.backpactHarness ?? {};
installP2pHarness();
installSimplePeerRunner();
globalThis.backpactHarness.ready = true;
document.getElementById('status')!.textContent = 'ready';
