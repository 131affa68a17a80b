#!/usr/bin/env bash
# ports.sh: free ports on loopback for local brokers, and which process holds a port.
# kafka.sh and cluster.sh source it; make test (through `kafka.sh run`) and the Go test
# harness (bridge/kafka/kafkatest) run it. On Linux it reads /proc (no ss or lsof needed);
# elsewhere (macOS) it asks lsof, and tries to connect.
#
#   deploy/kafka/ports.sh pick [OWNER_PID]   print the first port of a block of 16 (aligned on 16,
#                                          in 20000-32767, below Linux's ephemeral ports) that no
#                                          TCP socket uses, reserved while OWNER_PID (default: the
#                                          caller) lives, so that no other pick hands it out
#   deploy/kafka/ports.sh release PORT     drop the reservation of PORT's block
#   deploy/kafka/ports.sh holder PORT      print which process listens on PORT; exit 1 if none does
#
# Settings (environment):
#   IMBRIDGE_PORTS_DIR  where picks are reserved, one directory per block; shared by every
#                       checkout and user of the machine (default /tmp/imbridge-ports)

ports_dir=${IMBRIDGE_PORTS_DIR:-/tmp/imbridge-ports}
ports_block=16
ports_lo=20000
ports_hi=32768

# Linux: /proc tells every socket and its process. Elsewhere (macOS) lsof tells the
# processes of listening sockets, and a connection attempt tells whether one listens.
ports_proc=""
if [ -r /proc/net/tcp ]; then ports_proc=1; fi

# _ports_sockets [LISTEN]: "PORT INODE" of every TCP socket (IPv4 and IPv6) bound to a
# local port, or of the listening ones only (Linux).
_ports_sockets() {
  local f files=()
  for f in /proc/net/tcp /proc/net/tcp6; do if [ -r "$f" ]; then files+=("$f"); fi; done
  [ ${#files[@]} -gt 0 ] || return 0
  # One read per file: bash's `read` takes /proc files byte by byte.
  cat "${files[@]}" | awk -v listen="${1:-}" '
    function hex(s,   i, n) {
      n = 0
      for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789ABCDEF", toupper(substr(s, i, 1))) - 1
      return n
    }
    $1 == "sl" { next }
    listen != "" && $4 != "0A" { next }
    { n = split($2, a, ":"); print hex(a[n]), $10 }'
}

# _ports_listening PORT: a process listens on PORT.
_ports_listening() {
  if [ -n "$ports_proc" ]; then
    _ports_sockets LISTEN | awk -v p="$1" '$1 == p { found = 1 } END { exit !found }'
  else
    [ -n "$(ports_pids "$1")" ] || (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

# ports_pids PORT: the processes that hold a listening socket on PORT, one pid a line
# (only those this user may inspect).
ports_pids() {
  if [ -z "$ports_proc" ]; then
    if command -v lsof >/dev/null; then lsof -nP -t -iTCP:"$1" -sTCP:LISTEN 2>/dev/null | sort -un; fi
    return 0
  fi
  local p inode
  while read -r p inode; do
    if [ "$p" != "$1" ] || [ "$inode" = 0 ]; then continue; fi
    find /proc/[0-9]*/fd -maxdepth 1 -lname "socket:\[$inode\]" 2>/dev/null | cut -d/ -f3
  done < <(_ports_sockets LISTEN) | sort -un
}

# ports_cmdline PID: PID's command line, its arguments separated by spaces.
ports_cmdline() {
  if [ -r "/proc/$1/cmdline" ]; then
    tr '\0\n\t' '   ' <"/proc/$1/cmdline" 2>/dev/null
  else
    ps -ww -o command= -p "$1" 2>/dev/null
  fi
}

# ports_exited PID: PID has exited (it may be a zombie not reaped yet, which holds no
# sockets any more).
ports_exited() {
  kill -0 "$1" 2>/dev/null || return 0
  local st
  if [ -r "/proc/$1/stat" ]; then
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 0
  else
    st=$(ps -o stat= -p "$1" 2>/dev/null) || return 0
  fi
  [[ "${st# }" == Z* ]]
}

# ports_describe PID: "pid N (COMMAND LINE; cwd DIR)", the command line shortened.
ports_describe() {
  local cmd cwd=""
  cmd=$(ports_cmdline "$1") || cmd=""
  cmd=${cmd% }
  [ -n "$cmd" ] || cmd="?"
  if [ ${#cmd} -gt 300 ]; then cmd="${cmd:0:100} ... ${cmd:${#cmd}-190}"; fi
  cwd=$(readlink "/proc/$1/cwd" 2>/dev/null) || cwd=""
  printf 'pid %s (%s%s)' "$1" "$cmd" "${cwd:+; cwd $cwd}"
}

# ports_holder PORT: print which process listens on PORT; return 1 if none does.
ports_holder() {
  local pids pid out=()
  _ports_listening "$1" || return 1
  pids=$(ports_pids "$1")
  if [ -z "$pids" ]; then
    echo "a process this user cannot inspect (another user's or another container's; try: sudo ss -ltnp 'sport = :$1', or sudo lsof -iTCP:$1)"
    return 0
  fi
  for pid in $pids; do out+=("$(ports_describe "$pid")"); done
  local IFS=,
  echo "${out[*]}"
}

# ports_taken PORT...: print which of PORTs a process listens on and which process, as
# "port P is taken by ..." (or "ports P, Q are ..." for one holder); return 1 if none is.
ports_taken() {
  local p h i out="" holders=() lists=()
  for p in "$@"; do
    h=$(ports_holder "$p") || continue
    for i in "${!holders[@]}"; do
      if [ "${holders[$i]}" = "$h" ]; then lists[i]+=", $p"; continue 2; fi
    done
    holders+=("$h")
    lists+=("$p")
  done
  [ ${#holders[@]} -gt 0 ] || return 1
  for i in "${!holders[@]}"; do
    if [[ ${lists[$i]} == *,* ]]; then
      out+="${out:+; }ports ${lists[$i]} are taken by ${holders[$i]}"
    else
      out+="${out:+; }port ${lists[$i]} is taken by ${holders[$i]}"
    fi
  done
  echo "$out"
}

# ports_owned PID PORT: PID holds a listening socket on PORT. Where neither /proc nor lsof
# tells, PID running is all that can be checked.
ports_owned() {
  local pids
  if [ -z "$ports_proc" ] && ! command -v lsof >/dev/null; then
    kill -0 "$1" 2>/dev/null
    return
  fi
  pids=$(ports_pids "$2")
  [[ $'\n'$pids$'\n' == *$'\n'"$1"$'\n'* ]]
}

# _ports_alive PID: PID runs (whoever's it is).
_ports_alive() {
  if [ -n "$ports_proc" ]; then [ -d "/proc/$1" ]; else ps -p "$1" >/dev/null 2>&1; fi
}

# _ports_stale DIR: a reservation whose owner is gone (or that is a day old, or that has
# had no owner for a minute).
_ports_stale() {
  local owner
  if owner=$(cat "$1/owner" 2>/dev/null) && [ -n "$owner" ]; then
    ! _ports_alive "$owner" || [ -n "$(find "$1" -maxdepth 0 -mmin +1440 2>/dev/null)" ]
  else
    [ -n "$(find "$1" -maxdepth 0 -mmin +1 2>/dev/null)" ]
  fi
}

# ports_pick [OWNER_PID]: print the first port of a free block of 16 and reserve it for
# OWNER_PID (default: the caller).
ports_pick() {
  local owner=${1:-$PPID} lo=$ports_lo hi=$ports_hi eph_lo _eph_hi
  # Stay below the kernel's ephemeral ports, which outgoing connections take.
  if read -r eph_lo _eph_hi 2>/dev/null </proc/sys/net/ipv4/ip_local_port_range &&
     [ "$eph_lo" -lt "$hi" ] && [ "$((eph_lo - lo))" -ge $((16 * ports_block)) ]; then
    hi=$eph_lo
  fi
  mkdir -p "$ports_dir" 2>/dev/null && chmod 1777 "$ports_dir" 2>/dev/null || true
  [ -d "$ports_dir" ] && [ -w "$ports_dir" ] || { echo "ports.sh: cannot write $ports_dir (IMBRIDGE_PORTS_DIR)" >&2; return 1; }
  local used=" " p _inode
  if [ -n "$ports_proc" ]; then
    used=" $(_ports_sockets | cut -d' ' -f1 | tr '\n' ' ')"
  fi
  local blocks=$(((hi - lo) / ports_block)) try base i r
  for ((try = 0; try < 1000; try++)); do
    base=$((lo + ports_block * (((RANDOM << 15) | RANDOM) % blocks)))
    for ((i = 0; i < ports_block; i++)); do
      p=$((base + i))
      if [ -n "$ports_proc" ]; then
        [[ $used != *" $p "* ]] || continue 2
      else
        ! _ports_listening "$p" || continue 2
      fi
    done
    r=$ports_dir/$base
    if ! mkdir "$r" 2>/dev/null; then
      _ports_stale "$r" || continue
      rm -rf "$r" 2>/dev/null
      mkdir "$r" 2>/dev/null || continue
    fi
    echo "$owner" >"$r/owner"
    chmod -R a+rwX "$r" 2>/dev/null || true
    echo "$base"
    return 0
  done
  echo "ports.sh: no free block of $ports_block ports in $lo-$((hi - 1))" >&2
  return 1
}

# ports_release PORT: drop the reservation of the block holding PORT.
ports_release() {
  rm -rf "${ports_dir:?}/$(($1 - ($1 - ports_lo) % ports_block))" 2>/dev/null || true
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    pick) ports_pick "${2:-$PPID}" ;;
    release) [[ "${2:-}" =~ ^[0-9]+$ ]] || { echo "ports.sh release PORT" >&2; exit 2; }; ports_release "$2" ;;
    holder) [[ "${2:-}" =~ ^[0-9]+$ ]] || { echo "ports.sh holder PORT" >&2; exit 2; }; ports_holder "$2" ;;
    *) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; [ -n "${1:-}" ] && exit 2; exit 0 ;;
  esac
fi
