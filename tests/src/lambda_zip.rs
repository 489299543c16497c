//! Lambda deployment packages built in memory: a minimal (stored, not
//! compressed) zip writer that keeps Unix file modes, so a `bootstrap` stays
//! executable, plus a shell-script custom runtime for `provided.al2023`.

/// One file in a package: path inside the zip, contents, Unix mode (e.g. `0o755`).
pub struct Entry<'a> {
    pub name: &'a str,
    pub data: &'a [u8],
    pub mode: u32,
}

/// A zip archive of `entries`, stored uncompressed with their Unix modes.
pub fn zip(entries: &[Entry<'_>]) -> Vec<u8> {
    const DOS_DATE_1980_01_01: u16 = (1 << 5) | 1;
    let mut out = Vec::new();
    let mut central = Vec::new();
    for entry in entries {
        let offset = u32_len(out.len());
        let size = u32_len(entry.data.len());
        let name_len = u16::try_from(entry.name.len()).expect("zip entry name too long");
        let crc = crc32(entry.data);

        put32(&mut out, 0x0403_4b50);
        for field in [20, 0, 0, 0, DOS_DATE_1980_01_01] {
            put16(&mut out, field); // version needed, flags, stored, time, date
        }
        for field in [crc, size, size] {
            put32(&mut out, field);
        }
        put16(&mut out, name_len);
        put16(&mut out, 0); // extra field length
        out.extend_from_slice(entry.name.as_bytes());
        out.extend_from_slice(entry.data);

        put32(&mut central, 0x0201_4b50);
        put16(&mut central, (3 << 8) | 20); // made by Unix, zip 2.0
        for field in [20, 0, 0, 0, DOS_DATE_1980_01_01] {
            put16(&mut central, field);
        }
        for field in [crc, size, size] {
            put32(&mut central, field);
        }
        for field in [name_len, 0, 0, 0, 0] {
            put16(&mut central, field); // name, extra, comment, disk, internal attrs
        }
        put32(&mut central, (0o100_000 | entry.mode) << 16); // regular file + mode
        put32(&mut central, offset);
        central.extend_from_slice(entry.name.as_bytes());
    }
    let central_offset = u32_len(out.len());
    let count = u16::try_from(entries.len()).expect("too many zip entries");
    out.extend_from_slice(&central);
    put32(&mut out, 0x0605_4b50);
    for field in [0, 0, count, count] {
        put16(&mut out, field);
    }
    put32(&mut out, u32_len(central.len()));
    put32(&mut out, central_offset);
    put16(&mut out, 0); // comment length
    out
}

/// A package whose only file is an executable `bootstrap` with `script` in it.
pub fn bootstrap_zip(script: &str) -> Vec<u8> {
    zip(&[Entry {
        name: "bootstrap",
        data: script.as_bytes(),
        mode: 0o755,
    }])
}

/// A `provided.al2023` custom runtime in `sh` + `curl` that answers every event
/// with `{"echo": <event>, "version": "<function version>", "tag": "<tag>"}`.
/// `tag` (no quotes or backslashes) tells packages apart.
pub fn echo_bootstrap(tag: &str) -> String {
    assert!(!tag.contains(['"', '\\', '\'']), "tag must be plain text");
    format!(
        r#"#!/bin/sh
set -eu
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
headers="$(mktemp)"
while true; do
  event="$(curl -sS -D "$headers" "$api/invocation/next")"
  id="$(sed -n 's/^[Ll]ambda-[Rr]untime-[Aa]ws-[Rr]equest-[Ii]d: *//p' "$headers" | tr -d '\r')"
  curl -sS -o /dev/null -X POST "$api/invocation/$id/response" \
    -d "{{\"echo\": $event, \"version\": \"$AWS_LAMBDA_FUNCTION_VERSION\", \"tag\": \"{tag}\"}}"
done
"#
    )
}

fn u32_len(len: usize) -> u32 {
    u32::try_from(len).expect("zip64 is not supported")
}

fn put16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// CRC-32 (IEEE), as zip requires.
fn crc32(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    };
    !data.iter().fold(!0u32, |c, &b| {
        TABLE[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn zip_layout_is_consistent() {
        let bytes = bootstrap_zip("#!/bin/sh\n");
        assert_eq!(&bytes[..4], b"PK\x03\x04");
        let eocd = &bytes[bytes.len() - 22..];
        assert_eq!(&eocd[..4], b"PK\x05\x06");
        let cd_offset = u32::from_le_bytes(eocd[16..20].try_into().unwrap()) as usize;
        assert_eq!(&bytes[cd_offset..cd_offset + 4], b"PK\x01\x02");
    }
}
