/** Members of `system:masters` may do anything, whatever RBAC holds (so a broken policy can be mended). */
import type { Attributes, Authorizer, AuthzResult } from './authorizer.js';
import { NO_OPINION } from './authorizer.js';

export const SUPERUSER_GROUP = 'system:masters';

export class SuperuserAuthorizer implements Authorizer {
  readonly name = 'superuser';

  authorize(a: Attributes): AuthzResult {
    return a.user.groups.includes(SUPERUSER_GROUP) ? { decision: 'allow', reason: `member of ${SUPERUSER_GROUP}` } : NO_OPINION;
  }
}
