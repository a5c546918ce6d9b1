import { benchSurfaces, checkCaller } from '../../firmware/bench/server';

/** The bench's decisions as pure functions: which surfaces a gate serves, and whose requests it takes. */

describe('which bench surfaces a gate serves', () => {
  test('sim mode: the bench and, on it, the admin API', () => {
    expect(benchSurfaces(undefined, 'sim')).toEqual({ serve: true, admin: true });
    expect(benchSurfaces(false, 'sim')).toEqual({ serve: false, admin: false });
  });

  test('on a Pi: no bench by default, and with bench.enabled still no admin API on it (the 0660 socket is the only admin path)', () => {
    expect(benchSurfaces(undefined, 'pi')).toEqual({ serve: false, admin: false });
    expect(benchSurfaces(true, 'pi')).toEqual({ serve: true, admin: false });
  });
});

describe('whose requests the bench takes', () => {
  const PORT = 8080;
  const allowed = (headers: Record<string, string>, method = 'POST') => {
    try {
      checkCaller(headers, method, PORT);
      return 'ok';
    } catch (err) {
      return (err as { status: number }).status;
    }
  };

  test.each([
    [{ host: '127.0.0.1:8080' }],
    [{ host: 'localhost:8080' }],
    [{ host: 'LOCALHOST:8080' }],
    [{ host: '[::1]:8080' }],
    [{ host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8080', 'sec-fetch-site': 'same-origin' }],
    [{ host: 'localhost:8080', origin: 'http://localhost:8080' }],
    [{ host: '127.0.0.1:8080', 'sec-fetch-site': 'none' }],
  ])('takes %j', (headers) => {
    expect(allowed(headers)).toBe('ok');
  });

  test.each([
    [{}],
    [{ host: 'evil.example' }],
    [{ host: 'evil.example:8080' }],
    [{ host: '127.0.0.1' }],
    [{ host: '127.0.0.1:8081' }],
    [{ host: '127.0.0.2:8080' }],
    [{ host: 'localhost.:8080' }],
    [{ host: '127.0.0.1:8080', origin: 'http://evil.example' }],
    [{ host: '127.0.0.1:8080', origin: 'null' }],
    [{ host: '127.0.0.1:8080', origin: 'https://127.0.0.1:8080' }],
    [{ host: '127.0.0.1:8080', origin: 'http://127.0.0.1:3000' }],
    [{ host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8080.evil.example' }],
    [{ host: '127.0.0.1:8080', 'sec-fetch-site': 'cross-site' }],
    [{ host: '127.0.0.1:8080', 'sec-fetch-site': 'same-site' }],
  ])('refuses %j with 403', (headers) => {
    expect(allowed(headers)).toBe(403);
  });

  test('Host is checked on reads too; Sec-Fetch-Site only on state changes, so a link from elsewhere opens the page', () => {
    expect(allowed({ host: 'evil.example' }, 'GET')).toBe(403);
    expect(allowed({ host: '127.0.0.1:8080', origin: 'http://evil.example' }, 'GET')).toBe(403);
    expect(allowed({ host: '127.0.0.1:8080', 'sec-fetch-site': 'cross-site' }, 'GET')).toBe('ok');
  });

  test('on port 80 a browser leaves the port out of Host and Origin', () => {
    expect(() => checkCaller({ host: 'localhost', origin: 'http://localhost' }, 'POST', 80)).not.toThrow();
    expect(() => checkCaller({ host: 'localhost:8080' }, 'POST', 80)).toThrow();
  });
});
