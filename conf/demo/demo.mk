# The one-command demo (scripts/demo.sh): the host and collectd.conf it runs, the
# report it ends with, and its integration test, a short run against this build.
EXTRA_DIST += conf/demo/node.xml conf/demo/collectd.conf.in scripts/demo-report.py
INTEGRATION_TESTS += tests/integration/demo.sh
EXTRA_DIST += tests/integration/demo.sh
