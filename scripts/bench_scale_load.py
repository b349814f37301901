#!/usr/bin/env python3
"""Load steps of make bench-scale that oha cannot take (scripts/bench-scale.sh).

  basladdning PORT IPORT SECRET TOKEN CERTS N PERSONS
      gives the last N personnummer of the file PERSONS (Skatteverket's test numbers:
      the test environment takes no others) an anvisning for Stockholm (internal API,
      four connections), then sends one basladdning of N ansokningar for them and
      prints "<seconds> <status>" for the basladdning alone.
  during PORT SECRET PNR CERTS RATE -- COMMAND...
      audited lookups at RATE per second on a fixed schedule (open loop: a late answer
      counts from when its request was due, so a stall is not hidden by fewer requests)
      while COMMAND runs, then prints "<p50 ms> <p99 ms> <max ms> <lookups> <bad> <rc>".
      With COMMAND "sleep S" it is the baseline without anything else running."""
import http.client
import json
import ssl
import subprocess
import sys
import threading
import time


def context(certs):
    ctx = ssl.create_default_context(cafile=f"{certs}/ca.pem")
    ctx.load_cert_chain(f"{certs}/client-stockholm.pem", f"{certs}/client-stockholm.key")
    return ctx


def basladdning(port, iport, secret, token, certs, n, persons_file):
    n = int(n)
    persons = [line.strip() for line in open(persons_file) if line.strip()][-n:]
    assert len(set(persons)) == n, f"{persons_file} has fewer than {n} persons"
    ctx = context(certs)

    def anvisa(part):
        conn = http.client.HTTPSConnection("localhost", int(iport), context=ctx)
        headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
        for p in part:
            body = {"personnummer": p, "hemkommun": "0180", "anvisningsdatum": "2026-02-20",
                    "skolformer": ["gymnasial"], "giltig_tom": "2099-12-31"}
            conn.request("POST", "/intern/v1/utbildningsbehov", json.dumps(body), headers)
            r = conn.getresponse()
            r.read()
            if r.status != 201:
                sys.exit(f"utbildningsbehov: {r.status}")

    threads = [threading.Thread(target=anvisa, args=(persons[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    kurs = {"kurskod": "MATMAT01a", "kursnamn": "Matematik 1a", "skolform": "gymnasial",
            "poang": 100, "studietakt": 50, "startdatum": "2026-08-17",
            "slutdatum": "2026-12-18"}
    items = [{"kommunkod": "0180", "personnummer": p, "transaktionsdatum": "2026-03-02T10:00:00Z",
              "kallsystem": "bench", "status": "registrering", "ansokningsdatum": "2026-03-01",
              "kurser": [kurs]} for p in persons]
    body = json.dumps({"ansokningar": items, "antagningar": []})
    conn = http.client.HTTPSConnection("localhost", int(port), context=ctx, timeout=600)
    headers = {"client_id": "dev-stockholm", "client_secret": secret,
               "content-type": "application/json"}
    started = time.time()
    conn.request("POST", "/komvux/v1/basladdning", body, headers)
    r = conn.getresponse()
    answer = r.read()
    took = time.time() - started
    if r.status != 201:
        sys.stderr.write(answer[:2000].decode(errors="replace") + "\n")
    print(f"{took:.2f} {r.status}")


def during(port, secret, pnr, certs, rate, _sep, *command):
    rate = float(rate)
    ctx = context(certs)
    conn = http.client.HTTPSConnection("localhost", int(port), context=ctx)
    headers = {"client_id": "dev-stockholm", "client_secret": secret,
               "content-type": "application/json"}
    body = json.dumps({"personnummer": pnr})
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    latencies, bad = [], 0
    start = time.perf_counter()
    i = 0
    while proc.poll() is None:
        due = start + i / rate
        i += 1
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        conn.request("POST", "/komvux/v1/utbildningsbehov/sok", body, headers)
        r = conn.getresponse()
        answer = r.read()
        if r.status != 200:
            bad += 1
            if bad <= 3:
                sys.stderr.write(f"lookup answered {r.status}: {answer[:300]!r}\n")
        latencies.append((time.perf_counter() - due) * 1000)
    out = proc.stdout.read().strip().splitlines()
    rc = proc.wait()
    latencies.sort()
    if not latencies:
        latencies = [0.0]
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
    print(f"{pick(0.5):.2f} {pick(0.99):.2f} {latencies[-1]:.1f} {len(latencies)} {bad} {rc}")
    print(out[-1] if out else "-")


if __name__ == "__main__":
    {"basladdning": basladdning, "during": during}[sys.argv[1]](*sys.argv[2:])
