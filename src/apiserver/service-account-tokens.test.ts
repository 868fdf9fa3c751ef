import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { SERVICE_ACCOUNT_ISSUER, ServiceAccountTokens } from './service-account-tokens.js';

const pem = () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const tokens = new ServiceAccountTokens();
tokens.useKey(pem());
const account = { namespace: 'shop', serviceAccount: { name: 'web', uid: 'sa-uid' } };

test('a token carries the account and its bound pod, and is accepted only for its audience', async () => {
  const { token, expiresAt } = await tokens.issue({ ...account, bound: { kind: 'Pod', name: 'web-1', uid: 'pod-uid' }, node: { name: 'n1', uid: 'node-uid' }, audiences: [SERVICE_ACCOUNT_ISSUER], seconds: 600 });
  assert.ok(Math.abs(expiresAt.getTime() - Date.now() - 600_000) < 2000);
  assert.ok(ServiceAccountTokens.looksLikeJwt(token));
  const claims = await tokens.verify(token, [SERVICE_ACCOUNT_ISSUER]);
  assert.ok(typeof claims !== 'string', String(claims));
  assert.deepEqual(claims.serviceAccount, account.serviceAccount);
  assert.deepEqual(claims.bound, { kind: 'Pod', name: 'web-1', uid: 'pod-uid' });
  assert.deepEqual(claims.node, { name: 'n1', uid: 'node-uid' });
  assert.match(String(await tokens.verify(token, ['vault'])), /not valid.*aud/);
});

test('tampered, foreign and expired tokens are refused; other bearer tokens are not mistaken for JWTs', async () => {
  const { token } = await tokens.issue({ ...account, audiences: [SERVICE_ACCOUNT_ISSUER], seconds: 600 });
  const [h, p, sig] = token.split('.');
  const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), sub: 'system:serviceaccount:kube-system:admin' })).toString('base64url');
  assert.match(String(await tokens.verify(`${h}.${forged}.${sig}`, [SERVICE_ACCOUNT_ISSUER])), /not valid/);
  const other = new ServiceAccountTokens();
  other.useKey(pem());
  const foreign = (await other.issue({ ...account, audiences: [SERVICE_ACCOUNT_ISSUER], seconds: 600 })).token;
  assert.match(String(await tokens.verify(foreign, [SERVICE_ACCOUNT_ISSUER])), /not valid/);
  const expired = (await tokens.issue({ ...account, audiences: [SERVICE_ACCOUNT_ISSUER], seconds: -120 })).token;
  assert.match(String(await tokens.verify(expired, [SERVICE_ACCOUNT_ISSUER])), /not valid.*exp/);
  assert.equal(ServiceAccountTokens.looksLikeJwt('nubis-ut-abcdefabcdef.secret'), false);
  assert.equal(ServiceAccountTokens.looksLikeJwt('abcdef.0123456789abcdef'), false);
});
