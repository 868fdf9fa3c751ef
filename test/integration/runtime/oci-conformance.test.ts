/**
 * The OCI driver (pinned-namespace sandboxes, conmon + runc workloads) passes the sandbox driver
 * conformance suite that every driver passes, on a data dir of its own, and leaves nothing behind.
 */
import { OciDriver } from '../../../src/runtime/oci/oci-driver.js';
import { realDriverConformance } from '../../helpers/driver-conformance.js';

realDriverConformance('oci', (deps) => new OciDriver(deps));
