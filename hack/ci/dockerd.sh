#!/usr/bin/env bash
# The CI host's Docker engine for the kind platform, with this sandbox's two adapters (see
# docs/ci-host.md): the OCI runtime wrapper in hack/ci/runtime-wrapper as dockerd's default
# runtime (the host cannot grant CAP_SYS_RESOURCE, which `docker run --privileged` asks for),
# and bridge addresses in 10.250.0.0/16 (docker's default 172.17.0.0/16 is an address range the
# tests use). A developer's own Docker needs none of this.
#
# Usage: hack/ci/dockerd.sh start|stop|status
#   start   builds the wrapper into /usr/local/libexec/grpclab/runc-wrapper and starts dockerd in
#           the background (log /var/log/grpclab-dockerd.log, pid file /run/grpclab-dockerd.pid);
#           reuses a dockerd that already answers only if it runs the wrapper by default.
#   stop    stops the dockerd that start started, its containers, containerd and shims; idempotent.
#   status  says what runs; exit status 0 when a dockerd with the wrapper answers.
# Needs root, go, and Debian's docker.io (dockerd, containerd, runc).
set -o errexit -o nounset -o pipefail
# shellcheck source=hack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

RUNTIME=grpclab-runc
WRAPPER=/usr/local/libexec/grpclab/runc-wrapper
SOCKET=/var/run/docker.sock
PIDFILE=/run/grpclab-dockerd.pid
LOG=/var/log/grpclab-dockerd.log
# dockerd's own containerd and its shims keep their state here (dockerd's default exec root).
CONTAINERD_SOCKET=/var/run/docker/containerd/containerd.sock
TASKS=/var/run/docker/containerd/daemon/io.containerd.runtime.v2.task/moby
START_TIMEOUT=${DOCKERD_START_TIMEOUT:-60}
# Longer than dockerd's --shutdown-timeout (15 s), which it gives each container to stop.
STOP_TIMEOUT=${DOCKERD_STOP_TIMEOUT:-60}

DOCKERD_FLAGS=(
	--host "unix://${SOCKET}"
	--pidfile "${PIDFILE}"
	--add-runtime "${RUNTIME}=${WRAPPER}"
	--default-runtime "${RUNTIME}"
	--bip 10.250.0.1/24
	--default-address-pool "base=10.250.0.0/16,size=24"
	# Published ports go through docker-proxy instead of iptables DNAT rules.
	--iptables=false
	--storage-driver overlay2
)
# DOCKERD_DATA_ROOT gives this dockerd its own image store, e.g. to time a cold `make images`.
if [[ -n "${DOCKERD_DATA_ROOT:-}" ]]; then
	DOCKERD_FLAGS+=(--data-root "${DOCKERD_DATA_ROOT}")
fi

die() {
	echo "dockerd.sh: $*" >&2
	exit 1
}

docker_cli() { docker --host "unix://${SOCKET}" "$@"; }

answers() { docker_cli info >/dev/null 2>&1; }

# alive PID: the process exists and is not a zombie.
alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	[[ "${stat##*) }" != Z* ]]
}

# our_pid prints the pid in PIDFILE if that process is a dockerd.
our_pid() {
	local pid
	pid=$(cat "${PIDFILE}" 2>/dev/null) || return 1
	[[ ${pid} =~ ^[0-9]+$ ]] || return 1
	alive "${pid}" || return 1
	# A stale file's pid may have been reused by another program.
	[[ "$(readlink "/proc/${pid}/exe" 2>/dev/null)" == */dockerd* ]] || return 1
	echo "${pid}"
}

# wait_gone SECONDS PID...: waits until none of the processes is alive.
wait_gone() {
	local deadline=$((SECONDS + $1)) pid
	shift
	for pid in "$@"; do
		while alive "${pid}"; do
			((SECONDS < deadline)) || return 1
			sleep 0.2
		done
	done
}

# terminate NAME PID...: SIGTERM, up to 10 s, then SIGKILL.
terminate() {
	local name=$1 pid
	shift
	for pid in "$@"; do
		if alive "${pid}"; then
			step "stop ${name} ${pid} ($(tr '\0' ' ' 2>/dev/null <"/proc/${pid}/cmdline" | cut -c1-100))"
			kill -TERM "${pid}" 2>/dev/null || true
		fi
	done
	wait_gone 10 "$@" && return 0
	for pid in "$@"; do
		if alive "${pid}"; then
			step "${name} ${pid} still runs after 10s: SIGKILL"
			kill -KILL "${pid}" 2>/dev/null || true
		fi
	done
	wait_gone 5 "$@"
}

# leftover_containers prints the pid of each container init that dockerd's containerd left
# running: every task directory holds its container's init.pid.
leftover_containers() {
	local file pid
	for file in "${TASKS}"/*/init.pid; do
		pid=$(cat "${file}" 2>/dev/null) || continue
		if [[ ${pid} =~ ^[0-9]+$ ]] && alive "${pid}"; then
			echo "${pid}"
		fi
	done
}

# leftover_shims prints the pid of each shim of dockerd's containerd: a shim's arguments name
# its task (a directory in TASKS) and that containerd's socket.
leftover_shims() {
	local dir file args pid
	for dir in "${TASKS}"/*/; do
		[[ -d "${dir}" ]] || continue
		for file in /proc/[0-9]*/cmdline; do
			args=$(tr '\0' ' ' 2>/dev/null <"${file}") || continue
			if [[ "${args}" == *containerd-shim*" -id $(basename "${dir}") -address ${CONTAINERD_SOCKET}"* ]]; then
				pid=${file#/proc/}
				pid=${pid%/cmdline}
				if alive "${pid}"; then
					echo "${pid}"
				fi
			fi
		done
	done
}

build_wrapper() {
	command -v go >/dev/null 2>&1 || die "go not found on PATH; it builds ${WRAPPER}"
	local begin=${SECONDS}
	mkdir -p "$(dirname "${WRAPPER}")"
	# Built beside the target and renamed, so a running dockerd never execs a half-written file.
	CGO_ENABLED=0 go build -trimpath -o "${WRAPPER}.tmp" ./hack/ci/runtime-wrapper
	mv -f "${WRAPPER}.tmp" "${WRAPPER}"
	step "built ${WRAPPER} from hack/ci/runtime-wrapper in $((SECONDS - begin))s"
}

start() {
	local real_runc cmd
	for cmd in dockerd containerd runc docker; do
		command -v "${cmd}" >/dev/null 2>&1 || die "${cmd} not found; install it with: apt-get install -y docker.io"
	done
	build_wrapper

	if answers; then
		local runtime path
		runtime=$(docker_cli info --format '{{.DefaultRuntime}}')
		path=$(docker_cli info --format "{{with index .Runtimes \"${RUNTIME}\"}}{{.Path}}{{end}}")
		if [[ "${runtime}" == "${RUNTIME}" && "${path}" == "${WRAPPER}" ]]; then
			step "a dockerd already answers on ${SOCKET} with default runtime ${RUNTIME} (${WRAPPER}): reusing it"
			return 0
		fi
		die "a Docker daemon already answers on ${SOCKET} with default runtime '${runtime}', not ${RUNTIME} (${WRAPPER}): kind's privileged nodes would fail on it here (docs/ci-host.md); stop that daemon first"
	fi
	local pid
	if pid=$(our_pid); then
		die "dockerd ${pid} (${PIDFILE}) runs but does not answer on ${SOCKET}; see ${LOG}, or run: hack/ci/dockerd.sh stop"
	fi

	real_runc=${GRPCLAB_REAL_RUNC:-$(command -v runc)}
	mkdir -p "$(dirname "${LOG}")"
	step "start dockerd ${DOCKERD_FLAGS[*]} (the wrapper execs ${real_runc}; log ${LOG})"
	local begin=${SECONDS}
	# Its own session, so that it outlives this script and its caller's process group.
	GRPCLAB_REAL_RUNC=${real_runc} setsid dockerd "${DOCKERD_FLAGS[@]}" >"${LOG}" 2>&1 </dev/null &
	local started=$!
	while ((SECONDS - begin < START_TIMEOUT)); do
		if answers; then
			step "dockerd $(our_pid || echo "${started}") answers on ${SOCKET} after $((SECONDS - begin))s ($(docker_cli info --format 'server {{.ServerVersion}}, default runtime {{.DefaultRuntime}}, storage {{.Driver}}, cgroup v{{.CgroupVersion}}'))"
			return 0
		fi
		alive "${started}" || break
		sleep 0.5
	done
	{
		if alive "${started}"; then
			echo "dockerd.sh: dockerd did not answer on ${SOCKET} within ${START_TIMEOUT}s; last lines of ${LOG}:"
		else
			echo "dockerd.sh: dockerd exited after $((SECONDS - begin))s; last lines of ${LOG}:"
		fi
		grep -v 'module=grpc' "${LOG}" | tail -n 20 # grpc's connection chatter hides the cause
	} >&2
	stop >&2 || true
	terminate dockerd "${started}" >&2 || true
	exit 1
}

stop() {
	local pid
	if ! pid=$(our_pid); then
		step "no dockerd of ours runs (no live dockerd in ${PIDFILE})"
		rm -f "${PIDFILE}"
	else
		local begin=${SECONDS} children
		# containerd and docker-proxy; dockerd stops them itself unless it has to be killed.
		mapfile -t children < <(pgrep -P "${pid}" || true)
		step "stop dockerd ${pid} (SIGTERM: it stops its containers, then containerd; up to ${STOP_TIMEOUT}s)"
		kill -TERM "${pid}" 2>/dev/null || true
		if ! wait_gone "${STOP_TIMEOUT}" "${pid}"; then
			step "dockerd ${pid} still runs after ${STOP_TIMEOUT}s: SIGKILL"
			kill -KILL "${pid}" 2>/dev/null || true
			wait_gone 5 "${pid}" || die "dockerd ${pid} survives SIGKILL"
		fi
		terminate "dockerd's child" "${children[@]}"
		step "dockerd ${pid} stopped in $((SECONDS - begin))s"
	fi
	# Containers and shims are left behind only when dockerd or containerd had to be killed;
	# while a daemon answers, they are its own.
	if answers; then
		step "a Docker daemon that is not ours answers on ${SOCKET}: leaving it and its containers alone"
		return 0
	fi
	# A container's init ignores SIGTERM from outside its pid namespace, and nothing is left to
	# stop it gracefully.
	local left
	mapfile -t left < <(leftover_containers)
	if ((${#left[@]} > 0)); then
		step "kill leftover containers: ${left[*]}"
		kill -KILL "${left[@]}" 2>/dev/null || true
		wait_gone 5 "${left[@]}" || true
	fi
	mapfile -t left < <(leftover_shims)
	terminate "leftover shim" "${left[@]}"
	mapfile -t left < <(leftover_containers; leftover_shims)
	((${#left[@]} == 0)) || die "processes left after stop: ${left[*]}"
}

status() {
	local pid
	if pid=$(our_pid); then
		echo "dockerd ${pid} runs (pid file ${PIDFILE}, log ${LOG})"
	else
		echo "no dockerd of ours runs (no live dockerd in ${PIDFILE})"
	fi
	if ! answers; then
		echo "nothing answers on ${SOCKET}"
		return 1
	fi
	docker_cli info --format "answers on ${SOCKET}: server {{.ServerVersion}}, default runtime {{.DefaultRuntime}}, {{.Containers}} containers ({{.ContainersRunning}} running)"
	[[ "$(docker_cli info --format '{{.DefaultRuntime}}')" == "${RUNTIME}" ]]
}

case "${1:-}" in
start | stop | status) "$1" ;;
*)
	echo "usage: hack/ci/dockerd.sh start|stop|status" >&2
	exit 2
	;;
esac
