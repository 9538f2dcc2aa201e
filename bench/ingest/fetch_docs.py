#!/usr/bin/env python3
"""Fetch a simulated day's documents to files for bench/ingest.

Writes DIR/meetings.json (the NSW meetings list) and DIR/races/NNNN.json
(one race document each, at most --races of them) plus DIR/races.tsv
(file, date it was requested under).  Standard library only.
"""
import argparse
import json
import os
import urllib.parse
import urllib.request


def get(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.read()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--base', required=True)
    ap.add_argument('--date', required=True)
    ap.add_argument('--dir', required=True)
    ap.add_argument('--races', type=int, default=300)
    a = ap.parse_args()
    os.makedirs(os.path.join(a.dir, 'races'), exist_ok=True)
    body = get('%s/dates/%s/meetings?jurisdiction=NSW' % (a.base, a.date))
    with open(os.path.join(a.dir, 'meetings.json'), 'wb') as f:
        f.write(body)
    q = urllib.parse.quote
    urls = []
    for m in json.loads(body)['meetings']:
        for r in m['races']:
            if m.get('venueMnemonic'):
                urls.append('%s/dates/%s/meetings/%s/%s/races/%d?jurisdiction=NSW'
                            % (a.base, a.date, m['raceType'], q(m['venueMnemonic'], safe=''),
                               r['raceNumber']))
            else:
                urls.append('%s/dates/%s/meetings/%s/%s/races/%s?jurisdiction=NSW&fixedOdds=true'
                            % (a.base, a.date, m['raceType'], q(m['meetingName'], safe=''),
                               q(r['matchName'], safe='')))
    # spread the sample over the whole day: early races resulted, late ones open
    step = max(1.0, len(urls) / a.races)
    picked = [urls[int(i * step)] for i in range(min(a.races, len(urls)))]
    with open(os.path.join(a.dir, 'races.tsv'), 'w') as tsv:
        for i, url in enumerate(picked):
            name = 'races/%04d.json' % i
            with open(os.path.join(a.dir, name), 'wb') as f:
                f.write(get(url))
            tsv.write('%s\t%s\n' % (name, a.date))
    print('%d meetings list bytes, %d race documents (of %d races)'
          % (len(body), len(picked), len(urls)))


if __name__ == '__main__':
    main()
