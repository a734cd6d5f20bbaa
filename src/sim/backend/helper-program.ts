/**
 * The program of the emulator's command helper (helper.ts): a small, long-lived Perl process that
 * starts the system tools the emulator runs and reads subvolume records with an ioctl. Starting a
 * process copies the page tables of the process that starts it, so a start from the emulator costs
 * more as its heap grows (with 10 000 subvolumes in its tables); from this process it costs the same
 * at any size. `perl-base` is part of every Debian system and has everything used here.
 *
 * Protocol, one request a line on stdin, fields separated by one space, arguments hex-encoded (so
 * any byte may appear in a path):
 *   `<id> run <file> <arg>…`  start `file` with `args` (no shell, stdin /dev/null), answer when it ends
 *   `<id> info <path>`        the BTRFS_IOC_GET_SUBVOL_INFO record of the subvolume whose root is `path`
 *   `<id> ping`               answered at once (the emulator's check that the helper is alive)
 * Each answer is a header line `R <id> <kind> <code> <outLength> <errLength>` followed by exactly
 * that many bytes of output, then of error output. Kinds: `exit` (code = exit status), `signal`
 * (code = the signal that ended it), `noexec` (code = errno of a start that failed), `info` (code 0
 * and the record's fields; 1 no subvolume there; 2 cannot open; 3 the ioctl failed), `pong`, `bad`
 * (a request it did not understand). Commands run concurrently; answers come in the order they end.
 * End of stdin (the emulator stopped or died) ends the helper; commands still running finish alone.
 */
export const HELPER_PROGRAM = String.raw`
use strict;
use POSIX ();
use IO::Select;

binmode STDIN; binmode STDOUT;
my $select = IO::Select->new(\*STDIN);
my $input = '';
# fileno of an open output pipe => [job, "out" or "err", handle]
my %pipes;

sub answer {
  my ($id, $kind, $code, $out, $err) = @_;
  $out = '' unless defined $out; $err = '' unless defined $err;
  my $msg = "R $id $kind $code " . length($out) . " " . length($err) . "\n" . $out . $err;
  my $off = 0;
  while ($off < length $msg) {
    my $n = syswrite(STDOUT, $msg, length($msg) - $off, $off);
    if (!defined $n) { next if $!{EINTR}; exit 1 }
    $off += $n;
  }
}

sub start_command {
  my ($id, $file, @args) = @_;
  my ($or, $ow, $er, $ew, $xr, $xw);
  if (!(pipe($or, $ow) && pipe($er, $ew) && pipe($xr, $xw))) { return answer($id, 'noexec', 0 + $!, '', "pipe: $!") }
  my $pid = fork;
  if (!defined $pid) { return answer($id, 'noexec', 0 + $!, '', "fork: $!") }
  if ($pid == 0) {
    # Every pipe Perl opened is close-on-exec except the three standard handles set here, so the
    # tool sees none of the helper's other pipes; $xw tells the helper why an exec failed.
    open(STDIN, '<', '/dev/null'); open(STDOUT, '>&', $ow); open(STDERR, '>&', $ew);
    { no warnings; exec { $file } $file, @args; }
    syswrite($xw, pack('N', 0 + $!));
    POSIX::_exit(127);
  }
  close $ow; close $ew; close $xw;
  my $status = '';
  1 while !defined sysread($xr, $status, 4) && $!{EINTR};
  close $xr;
  if (length($status) == 4) {
    waitpid($pid, 0); close $or; close $er;
    local $! = unpack('N', $status);
    return answer($id, 'noexec', 0 + $!, '', "$!");
  }
  my $job = { id => $id, pid => $pid, out => '', err => '', open => 2 };
  for my $p ([$or, 'out'], [$er, 'err']) {
    $pipes{fileno $p->[0]} = [$job, $p->[1], $p->[0]];
    $select->add($p->[0]);
  }
}

sub finish_command {
  my ($job) = @_;
  waitpid($job->{pid}, 0);
  my $status = $?;
  if ($status & 127) { answer($job->{id}, 'signal', $status & 127, $job->{out}, $job->{err}) }
  else { answer($job->{id}, 'exit', $status >> 8, $job->{out}, $job->{err}) }
}

sub subvolume_info {
  my ($id, $path) = @_;
  my $fh;
  if (!open($fh, '<', $path)) { return answer($id, 'info', ($!{ENOENT} || $!{ENOTDIR}) ? 1 : 2, '', "$!") }
  # A subvolume's root directory is inode 256; anything else is not a subvolume (the ioctl would
  # answer for the subvolume that holds it).
  if ((stat($fh))[1] != 256) { close $fh; return answer($id, 'info', 1) }
  # _IOR(BTRFS_IOCTL_MAGIC 0x94, 60, struct btrfs_ioctl_get_subvol_info_args) (504 bytes).
  my $buf = "\0" x 504;
  if (!ioctl($fh, 0x81F8943C, $buf)) { my $e = "$!"; close $fh; return answer($id, 'info', 3, '', $e) }
  close $fh;
  my ($treeid) = unpack('Q<', $buf);
  my ($parent, $dirid, $gen, $flags) = unpack('Q<4', substr($buf, 264, 32));
  my @uuids = map { unpack('H32', substr($buf, $_, 16)) } (296, 312, 328);
  my ($otime) = unpack('Q<', substr($buf, 392, 8));
  answer($id, 'info', 0, join(' ', $treeid, $parent, $gen, $flags, @uuids, $otime));
}

sub request {
  my ($line) = @_;
  my ($id, $op, @hex) = split / /, $line, -1;
  return answer(0, 'bad', 0) unless defined $id && $id =~ /^[0-9]{1,15}$/ && defined $op;
  return answer($id, 'bad', 0) if grep { !/^(?:[0-9a-f]{2})*$/ } @hex;
  my @args = map { pack('H*', $_) } @hex;
  if ($op eq 'run' && @args >= 1) { start_command($id, @args) }
  elsif ($op eq 'info' && @args == 1) { subvolume_info($id, $args[0]) }
  elsif ($op eq 'ping' && @args == 0) { answer($id, 'pong', 0) }
  else { answer($id, 'bad', 0) }
}

while (1) {
  for my $fh ($select->can_read) {
    if (fileno($fh) == 0) {
      my $n = sysread(STDIN, $input, 65536, length $input);
      next if !defined $n && $!{EINTR};
      exit 0 if !$n;
      request($1) while $input =~ s/^([^\n]*)\n//;
      next;
    }
    my ($job, $which) = @{$pipes{fileno $fh}};
    my $n = sysread($fh, $job->{$which}, 65536, length $job->{$which});
    next if !defined $n && $!{EINTR};
    next if $n;
    $select->remove($fh);
    delete $pipes{fileno $fh};
    close $fh;
    finish_command($job) if --$job->{open} == 0;
  }
}
`;
