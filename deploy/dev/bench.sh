#!/usr/bin/env bash
# make bench: every benchmark of the suite (-tags kefubench), one after the
# other on this machine, each log kept in .data/bench/, then one table of
# every figure with its target (the lines the benchmarks print as
# "… (target …: met|MISSED)"). Machines are noisy: the benchmarks compare
# what they measure with a baseline measured in the same run, interleaved.
#
#   deploy/dev/bench.sh [name…]   names: timers orders chat gateway lists
#                                 writes insights events (default: all)
set -uo pipefail
cd "$(dirname "$0")/../.."
out=.data/bench
mkdir -p "$out"

declare -A dir pkg pattern
add() { dir[$1]=$2; pkg[$1]=$3; pattern[$1]=$4; }
add timers   services/complaint    ./internal/app/   BenchmarkTimersAtScale
add orders   services/order        ./...             'BenchmarkOrderPlacement|BenchmarkCreateOrderEventOverhead|BenchmarkPlacementEventOverhead'
add chat     services/conversation ./internal/app/   BenchmarkChatFeed
add gateway  gateway               ./...             'BenchmarkRESTvsGRPC|BenchmarkGatewayVsDirect'
add lists    services              ./...             BenchmarkListCostGrowth
add writes   services              ./...             BenchmarkWritePath
add insights services/insights     ./internal/app/   'BenchmarkProjectionThroughput|BenchmarkReportLatency'
add events   services/platform     ./outbox/         .
order=(timers orders chat gateway lists writes insights events)

names=("$@")
[ ${#names[@]} -eq 0 ] && names=("${order[@]}")
status=0
for n in "${names[@]}"; do
	if [ -z "${dir[$n]:-}" ]; then echo "unknown benchmark: $n (one of: ${order[*]})" >&2; exit 2; fi
	echo ">> bench $n: ${pattern[$n]} in ${dir[$n]}"
	pkgs=${pkg[$n]}
	: >"$out/$n.log"
	if [ "${dir[$n]}" = services ]; then
		# the list and write benchmarks live in several services: every
		# package whose tests define one
		dirs=$(grep -rlE --include='*_test.go' "func (${pattern[$n]})\(" services | xargs -r -n1 dirname | sort -u)
		if [ -z "$dirs" ]; then echo "   (no ${pattern[$n]} yet)"; continue; fi
		for d in $dirs; do
			(cd "$d" && go test -tags kefubench -run '^$' -bench "${pattern[$n]}" -benchtime 1x -timeout 40m .) \
				>>"$out/$n.log" 2>&1 || status=1
		done
	else
		(cd "${dir[$n]}" && go test -tags kefubench -run '^$' -bench "${pattern[$n]}" -benchtime 1x -timeout 40m ${pkg[$n]}) \
			>"$out/$n.log" 2>&1 || status=1
	fi
	grep -E 'target|^(ok|FAIL|---)' "$out/$n.log" | sed 's/^/   /'
done

echo
echo "== figures against their targets (logs in $out/) =="
for n in "${names[@]}"; do
	grep -hE '\(target [^)]*: (met|MISSED)\)' "$out/$n.log" 2>/dev/null | sed -E "s/^[[:space:]]*[a-z_]+_test\.go:[0-9]+: /  $n: /"
done
exit $status
