#!/bin/sh
# virt_guest.sh OUTDIR -- assembles a tiny test guest from Debian packages:
#   OUTDIR/vmlinuz    the kernel of linux-image-amd64 (/boot/vmlinuz-*)
#   OUTDIR/initrd.gz  an initramfs built here with cpio: busybox-static, the virtio
#                     modules of that kernel (balloon, block, net) and an /init that
#                     does what the kernel command line asks, timed by the guest clock:
#       fs_burn=N   keep one vCPU busy for N seconds (a shell loop), then idle;
#       fs_disk=1   while burning, also read /dev/vda over and over (page cache dropped);
#       fs_net=IP   while burning, also ping IP (eth0 gets IP's .2 neighbour address);
#       fs_probe=1  print "fs-guest: up" and power off at once (is this accelerator usable?).
#     It prints "fs-guest: up", "fs-guest: idle" on the console (ttyS0).
# Exits 77 with "SKIP: <reason>" if a piece is missing, 1 on a real failure.
set -eu
out=${1:?usage: virt_guest.sh OUTDIR}
skip() { echo "SKIP: $*"; exit 77; }

kernel=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1)
[ -n "$kernel" ] && [ -r "$kernel" ] || skip "no readable /boot/vmlinuz-* (install linux-image-amd64)"
kver=${kernel#/boot/vmlinuz-}
moddir=/lib/modules/$kver
[ -f "$moddir/modules.dep" ] || skip "no $moddir/modules.dep for kernel $kver"
busybox=/bin/busybox
[ -x "$busybox" ] || skip "no /bin/busybox (install busybox-static)"
if ldd "$busybox" >/dev/null 2>&1; then
  skip "/bin/busybox is dynamically linked (install busybox-static)"
fi
command -v cpio >/dev/null || skip "no cpio (install cpio)"

root=$out/initramfs
rm -rf "$root"
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/mod"
cp "$busybox" "$root/bin/busybox"
cp "$kernel" "$out/vmlinuz"

# The modules in load order: modules.dep lists a module's dependencies after it, the
# ones it needs first; these few have no deeper chains than shown.
mods="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci
      virtio_balloon virtio_blk failover net_failover virtio_net"
for m in $mods; do
  path=$(grep -E "/$m\.ko(\.[a-z]+)?:" "$moddir/modules.dep" | cut -d: -f1 | head -n 1)
  [ -n "$path" ] || skip "kernel $kver has no module $m"
  case $path in
    *.ko) cp "$moddir/$path" "$root/mod/$m.ko" ;;
    *) skip "module $path is compressed; this initramfs loads plain .ko only" ;;
  esac
done
echo "$mods" | tr -s ' \n' '\n\n' | grep -v '^$' >"$root/mod/order"

cat >"$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
for m in $(cat /mod/order); do insmod /mod/$m.ko 2>/dev/null; done
arg() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
if [ -n "$(arg fs_probe)" ]; then echo "fs-guest: up"; poweroff -f; fi
burn=$(arg fs_burn); disk=$(arg fs_disk); net=$(arg fs_net)
echo "fs-guest: up at $(cut -d' ' -f1 /proc/uptime)s, burning ${burn:-0}s"
pids=""
if [ "${burn:-0}" -gt 0 ]; then
  (while :; do :; done) & pids="$pids $!"
  if [ -n "$disk" ] && [ -b /dev/vda ]; then
    (while :; do dd if=/dev/vda of=/dev/null bs=64k 2>/dev/null
                 echo 3 >/proc/sys/vm/drop_caches; sleep 1; done) & pids="$pids $!"
  fi
  if [ -n "$net" ]; then
    ip link set eth0 up && ip addr add "${net%.*}.2/24" dev eth0
    ping -q -s 1000 -i 0.2 "$net" >/dev/null 2>&1 & pids="$pids $!"
  fi
  sleep "$burn"
  kill $pids
fi
echo "fs-guest: idle"
while :; do sleep 3600; done
EOF
chmod 755 "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 >"$out/initrd.gz"
rm -rf "$root"
