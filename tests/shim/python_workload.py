"""A workload for python3 under the malloc drop-in: a few million objects in dicts, lists,
strings, tuples and sets, built, transformed and dropped. Prints only values that do not depend
on addresses or hash seeds, so its output is the same under any allocator."""
import sys


def main():
    scale = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    total = 0
    for round_ in range(scale):
        table = {}
        for i in range(200_000):
            key = f"key-{i * 7919 % 200_003}-{round_}"
            table[key] = [i, str(i), (i, i * 2), {"n": i}]
        words = sorted(table, key=lambda k: (len(k), k))
        joined = ",".join(words[::97])
        total += len(joined) + sum(v[0] for v in table.values()) % 1_000_003
        nested = [[j for j in range(i % 50)] for i in range(40_000)]
        total += sum(len(x) for x in nested)
        text = "".join(chr(97 + (i * 31) % 26) for i in range(300_000))
        parts = text.split("q")
        total += len(parts) + len(set(parts))
        grown = []
        for i in range(100_000):
            grown.append(("x" * (i % 300)).upper())
        total += sum(map(len, grown))
        del table, words, nested, grown
    print("python workload total", total)


main()
