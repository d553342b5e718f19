"""Google Benchmark results as ./suite bench reads them: names, runs, the gate, the report."""
