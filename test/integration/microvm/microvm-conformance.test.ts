/**
 * The micro-VM driver passes the sandbox driver conformance suite the OCI and fake drivers pass: pods as
 * QEMU micro-VMs (TCG here) with their containers run by the guest agent, and nothing left behind.
 */
import { MicrovmDriver } from '../../../src/runtime/microvm/microvm-driver.js';
import { realDriverConformance } from '../../helpers/driver-conformance.js';
import { requireMicrovmHost } from './microvm-host.js';

realDriverConformance('microvm', (deps) => new MicrovmDriver(deps), requireMicrovmHost);
