#!/usr/bin/env python3
"""Writes a realistic, deterministic web-server access log (combined format) of about N MiB to stdout."""
import random
import sys

def main():
    mib = float(sys.argv[1]) if len(sys.argv) > 1 else 64
    target = int(mib * 1024 * 1024)
    rng = random.Random(20261121)
    ips = [f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}" for _ in range(5000)]
    paths = ["/", "/index.html", "/favicon.ico", "/robots.txt", "/api/v1/items", "/api/v1/users/login",
             "/static/css/site.css", "/static/js/app.js", "/images/logo.png", "/blog/", "/search"]
    paths += [f"/blog/{y}/{m:02d}/post-{rng.randint(1, 999)}.html" for y in (2023, 2024, 2025) for m in range(1, 13)]
    paths += [f"/products/{rng.randint(10000, 99999)}" for _ in range(2000)]
    agents = [
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:126.0) Gecko/20100101 Firefox/126.0",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        "curl/7.88.1", "Googlebot/2.1 (+http://www.google.com/bot.html)", "python-requests/2.31.0",
    ]
    refs = ["-", "https://www.example.com/", "https://www.google.com/", "https://news.ycombinator.com/"]
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    out = sys.stdout
    written = 0
    t = 0
    lines = []
    while written < target:
        t += rng.randint(0, 3)
        day, rem = divmod(t // 86400 % 28, 1)
        sec = t % 86400
        ts = f"{day + 1:02d}/{months[(t // (86400 * 28)) % 12]}/2025:{sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d} +0000"
        status = rng.choices([200, 304, 404, 301, 500], [80, 10, 6, 3, 1])[0]
        size = rng.randint(200, 90000) if status == 200 else 0
        q = f"?q={rng.randint(1, 5000)}" if rng.random() < 0.1 else ""
        line = (f'{rng.choice(ips)} - - [{ts}] "{rng.choice(["GET"] * 8 + ["POST", "HEAD"])} {rng.choice(paths)}{q} HTTP/1.1" '
                f'{status} {size} "{rng.choice(refs)}" "{rng.choice(agents)}"\n')
        lines.append(line)
        written += len(line)
        if len(lines) >= 4096:
            out.write("".join(lines))
            lines = []
    out.write("".join(lines))

if __name__ == "__main__":
    main()
