# custseg: the two commands of the README, plus lint and the benchmark.
# Odoo 18.0 is a prerequisite found at $(ODOO_SRC) (default /opt/odoo).
.PHONY: demo test lint bench

demo:
	bash scripts/demo.sh

test:
	bash scripts/test.sh

lint:
	python3 -m ruff check . && python3 -m ruff format --check .

bench:
	bash benchmarks/run.sh
