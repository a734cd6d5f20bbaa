/**
 * RouterOS output layouts for parser tests: captures quoted in reference §2.3/§4, and a renderer
 * that lays out a print detail item the way RouterOS wraps it (greedy at property boundaries, each
 * token followed by a space, tokens longer than a line cut hard at the line's end).
 */

export const CRLF = "\r\n";

/** RDS2216 capture (reference §2.3, RDSOCP): a file-backed disk exported over NVMe/TCP. */
export const RDS_FILE_DISK_CAPTURE = [
  "Flags: B - BLOCK-DEVICE; t - NVME-TCP-EXPORT",
  '31 Bt type=file slot="vm-storage-001" slot-default="" parent="" fs=- model="/raid10/vm-storage-001.img" size=1 099 511 627 776 mount-filesystem=no mount-read-only=no compress=no sector-size=512 raid-master=none nvme-tcp-export=yes',
  '      nvme-tcp-server-port=4420 nvme-tcp-server-nqn="nqn.2026-09.com.mikrotik:rds2216.vm-storage-001" nvme-tcp-server-allow-host-name="" iscsi-export=no nfs-sharing=no smb-sharing=no media-sharing=no media-interface=none swap=no',
  "      file-path=/raid10/vm-storage-001.img file-size=1024.0GiB file-offset=0",
].join(CRLF);

/** The multi-item print of the same device (reference §2.3), with the elided properties filled in. */
export const RDS_RAID_CAPTURE = [
  "Flags: B - BLOCK-DEVICE; M - MOUNTED; r - RAID-MEMBER",
  '26 BM  type=raid slot="raid10" slot-default="" parent="" fs=xfs model="RAID0 striped" size=16 003 143 565 312 free=14 789 895 307 264 total-inodes=1 562 806 656',
  '       free-inodes=1 562 806 652 use=8% mount-point="raid10" mount-filesystem=yes mount-read-only=no compress=no sector-size=512 raid-master=none',
  '       state="clean" raid-uuid="5d0c" nvme-tcp-export=no iscsi-export=no nfs-sharing=no smb-sharing=no media-sharing=no media-interface=none swap=no',
  " ",
  '27 B r type=raid slot="raid10-m0" slot-default="" parent="" fs=- model="RAID member" size=8 001 571 782 656 raid-master=raid10 raid-role=0 raid-member-failed=no',
  '       raid-member-state="0:in_sync" state="clean" nvme-tcp-export=no iscsi-export=no',
  "",
].join(CRLF);

/** `/file print detail` as documented for 7.16+ (reference §4): unquoted name and type, trailing spaces. */
export const FILE_DETAIL_DOC = [
  " 2 name=flash type=disk last-modified=2024-11-25 13:12:10 ",
  " 4 name=flash/skins/newskin.json type=.json file size=0 last-modified=2024-11-25 13:10:52 ",
  "",
].join(CRLF);

/** A file-path cut mid-token by an 80-column terminal (reference §2.3 rule 9, RDSCSI a28f18e). */
export const MID_TOKEN_PATH_SPLIT = [
  "Flags: B - BLOCK-DEVICE",
  '12 B  type=file slot="pvc-5a8e2c9f-3b1d-4e6a-9c7f-0d2b4a6e8c1f" slot-default="" parent="" fs=- ',
  '      model="/storage-pool/metal-csi/pvc-5a8e2c9f-3b1d-4e6a-9c7f-0d2b4a6e8c1f.img" ',
  "      size=53 687 091 200 mount-filesystem=yes nvme-tcp-export=no swap=no ",
  "      file-path=/storage-pool/metal-csi/pvc-5a8e2c9f-3b1d-4e6a-9c7f-0d2b4a6",
  "      e8c1f.img file-size=50.0GiB file-offset=0 ",
].join(CRLF);

export interface LaidOutItem {
  index: number;
  flags: string;
  comment?: string;
  tokens: string[];
}

/** Lays out items as print detail would at `width` columns (null = no wrapping). */
export function renderDetail(
  legend: string | null,
  items: LaidOutItem[],
  width: number | null,
  indexWidth = 2,
): string {
  const lines: string[] = legend ? [legend] : [];
  items.forEach((item, n) => {
    if (n > 0) lines.push("");
    const prefix = `${String(item.index).padStart(indexWidth)} ${item.flags} `;
    const indent = " ".repeat(prefix.length);
    let line = prefix;
    if (item.comment !== undefined) {
      lines.push(`${prefix};;; ${item.comment}`);
      line = indent;
    }
    for (const token of item.tokens) {
      if (width === null) {
        line += `${token} `;
        continue;
      }
      if (line.length > indent.length && line.length + token.length + 1 > width) {
        lines.push(line);
        line = indent;
      }
      let rest = `${token} `;
      // A line holds whole tokens with their spaces; a token too long for a fresh line is cut at the edge.
      while (line.length + rest.length > width && width - line.length > 0) {
        const room = width - line.length;
        lines.push(line + rest.slice(0, room));
        rest = rest.slice(room);
        line = indent;
      }
      // A token that filled the line exactly leaves only its space, which RouterOS does not print.
      if (rest !== " " || line !== indent) line += rest;
    }
    if (line.trim() !== "") lines.push(line);
  });
  return lines.join(CRLF) + CRLF;
}
