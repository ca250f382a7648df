# The one-command demo (scripts/demo.sh): the host and collectd.conf it runs, the
# report it ends with, the README's picture from one of its runs, and its integration
# test, a short run against this build.
EXTRA_DIST += conf/demo/node.xml conf/demo/collectd.conf.in scripts/demo-report.py \
	docs/demo-web1-cpu.png tests/integration/demo.sh
INTEGRATION_TESTS += tests/integration/demo.sh
