# custseg: the two commands of the README, plus lint and the benchmark.
# Odoo 18.0 is a prerequisite found at $(ODOO_SRC) (default /opt/odoo), Odoo 19.0 at
# $(ODOO19_SRC) (default /opt/odoo19, run by $(ODOO19_PYTHON)). make demo ODOO=19
# serves the demo on 19.0, make bench ODOO=19 benchmarks it; make test runs the
# suite on both.
ODOO ?= 18
.PHONY: demo test lint bench

demo:
	ODOO=$(ODOO) bash scripts/demo.sh

test:
	bash scripts/test.sh

lint:
	bash scripts/lint.sh

bench:
	ODOO=$(ODOO) bash benchmarks/run.sh
