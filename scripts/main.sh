#!/usr/bin/env bash
# The main job: install Nubis, bring up a single-node cloud (`nubis up`: API server on SQLite, scheduler,
# controllers and agent in one background process), deploy a sample app (a replicated busybox httpd
# serving a page from a ConfigMap, plus a Service) and show it running. The cloud stays up afterwards;
# `nubis down` stops it (pods keep running; `nubis up -d` again adopts them). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
export NUBIS_DATA_DIR=/var/lib/nubis
started=
cleanup() {
  # A failed run stops the cloud it started, so no stray process is left behind.
  if [ $? -ne 0 ] && [ -n "$started" ]; then nubis down || true; fi
}
trap cleanup EXIT
run() {
  echo
  echo "\$ $*"
  "$@"
}

[ -f "$NUBIS_DATA_DIR/up.pid" ] && kill -0 "$(cat "$NUBIS_DATA_DIR/up.pid")" 2>/dev/null || started=1
run nubis up -d
echo
echo '(waiting for the node to be Ready)'
for _ in $(seq 1 60); do
  nubis get nodes --no-headers 2>/dev/null | grep -qw Ready && break
  sleep 1
done
run nubis get nodes
run nubis apply -f examples/hello-web.yaml
run nubis rollout status deployment/hello-web --timeout 120s
run nubis get nodes,deployments,pods,services -o wide
pod=$(nubis get pods -l app=hello-web -o name | head -n 1)
# Every pod has its own IP; the Service has a ClusterIP and a DNS name that the cluster DNS answers,
# and NodePort 30080 on the node's addresses (here the node bridge's, nubis0).
run nubis exec "$pod" -- nslookup hello-web.default.svc.cluster.local
run nubis exec "$pod" -- wget -qO- http://hello-web/
bridge_ip=$(ip -4 -o addr show dev nubis0 | awk '{print $4}' | cut -d/ -f1)
run curl -s "http://$bridge_ip:30080/"
run nubis logs "$pod" --tail 3
# Multi-tenancy: tenant acme with its admin alice, who logs in and sees only her tenant's namespaces.
run nubis apply -f examples/tenant-acme.yaml
echo 'alice-demo-password' | run nubis user passwd alice --password-stdin
alice="$NUBIS_DATA_DIR/alice.kubeconfig"
echo 'alice-demo-password' | run nubis login -u alice --password-stdin --kubeconfig "$alice"
run nubis get namespaces --kubeconfig "$alice"
run nubis apply -f examples/acme-shop.yaml --kubeconfig "$alice"
run nubis rollout status deployment/shop -n acme-shop --timeout 120s --kubeconfig "$alice"
shop=$(nubis get pods -n acme-shop -l app=shop -o name --kubeconfig "$alice" | head -n 1)
run nubis exec -n acme-shop --kubeconfig "$alice" "$shop" -- wget -qO- http://shop/
echo
echo "\$ nubis exec -n acme-shop $shop -- wget -qO- http://hello-web.default/   # another tenant's Service: no such name"
nubis exec -n acme-shop --kubeconfig "$alice" "$shop" -- sh -c 'timeout 3 wget -qO- http://hello-web.default/ 2>&1 || true'
echo
echo '$ nubis get pods -n default --kubeconfig '"$alice"'   # another tenant'"'"'s namespace does not exist for her'
nubis get pods -n default --kubeconfig "$alice" 2>&1 || true
echo
echo "Nubis is running in the background (log: $NUBIS_DATA_DIR/up.log, kubeconfig: $NUBIS_DATA_DIR/admin.kubeconfig)."
echo "Try: nubis get pods; kubectl --kubeconfig $NUBIS_DATA_DIR/admin.kubeconfig get pods; nubis run --rm busybox echo hi"
echo "Stop it with: nubis down   (the pods keep running; nubis up -d adopts them again)"
