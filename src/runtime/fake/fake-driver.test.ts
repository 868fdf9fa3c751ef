import { sandboxDriverConformance } from '../conformance.js';
import { FakeDriver } from './fake-driver.js';

sandboxDriverConformance('fake', async () => ({
  driver: new FakeDriver(),
  image: 'busybox',
  programs: {
    print: (out, err, code) => ({ entrypoint: ['print', out, err, String(code)] }),
    sleep: () => ({ entrypoint: ['sleep'] }),
    echo: (text) => ['echo', text],
    exit: (code) => ['exit', String(code)],
  },
}));
