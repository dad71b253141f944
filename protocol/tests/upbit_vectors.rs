//! Upbit's JWT and the seed library's payload, each checked against an
//! implementation we did not write, run at test time: Python's hmac,
//! hashlib, base64 and json, and PyJWT.

use std::process::Command;

use orderwire_protocol::secret::Secret;
use orderwire_protocol::venue::upbit::{DataType, generate_payload, jwt};

fn python(script: &str) -> String {
    let output = Command::new(orderwire_testkit::peers::python())
        .args(["-c", script])
        .output()
        .expect("the peers' Python runs (scripts/install-peers)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .trim_end()
        .to_owned()
}

#[test]
fn the_jwt_matches_an_independent_hs512() {
    let access = "JCeG7QnUWnzkrxYBJSc3xgBNpxRj8jYUuAhf4HXV";
    let secret = "4MfVsWSvGaSWXxHxMdmWIvE2d3mQP3vz7hBNKdjn";
    let nonce = "d43ce09a-0a3f-4f37-8a0e-2f3b5e1f8c2d";
    let ours = jwt::token(&Secret::new(access), &Secret::new(secret), nonce);
    let stdlib = python(&format!(
        r#"
import base64, hashlib, hmac, json
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
header = json.dumps({{"alg": "HS512", "typ": "JWT"}}, separators=(",", ":")).encode()
payload = json.dumps({{"access_key": "{access}", "nonce": "{nonce}"}}, separators=(",", ":")).encode()
signing = b64(header) + "." + b64(payload)
signature = hmac.new(b"{secret}", signing.encode(), hashlib.sha512).digest()
print(signing + "." + b64(signature))
"#
    ));
    assert_eq!(ours.expose(), stdlib);
    // PyJWT, the library Upbit's samples use (pinned in
    // scripts/install-peers; missing, the script fails and names it).
    let pyjwt = python(&format!(
        r#"
import jwt
print(jwt.encode({{"access_key": "{access}", "nonce": "{nonce}"}}, "{secret}", algorithm="HS512"))
"#
    ));
    assert_eq!(ours.expose(), pyjwt);
}

#[test]
fn generate_payload_matches_the_librarys_json_dumps() {
    /// type, codes, isOnlySnapshot, isOnlyRealtime, format, ticket.
    type Case<'a> = (
        DataType,
        &'a [&'a str],
        Option<bool>,
        Option<bool>,
        &'a str,
        &'a str,
    );
    let cases: [Case<'_>; 4] = [
        (
            DataType::Trade,
            &["KRW-BTC", "KRW-ETH"],
            None,
            None,
            "DEFAULT",
            "0e9a7960-4036-4cf3-abe6-c02712c3aad4",
        ),
        (
            DataType::Ticker,
            &["krw-btc"],
            Some(true),
            None,
            "simple",
            "t-1",
        ),
        (
            DataType::Orderbook,
            &["KRW-BTC.5", "KRW-ETH.5"],
            Some(false),
            Some(true),
            "SIMPLE",
            "t-2",
        ),
        (
            DataType::Trade,
            &["KRW-XRP"],
            None,
            Some(false),
            "JSON_LIST",
            "t-3",
        ),
    ];
    for (data_type, codes, snapshot, realtime, format, ticket) in cases {
        let ours = generate_payload(data_type, codes, snapshot, realtime, format, ticket);
        let py_bool = |b: Option<bool>| b.map_or("None", |b| if b { "True" } else { "False" });
        let codes_py: Vec<String> = codes.iter().map(|c| format!("{c:?}")).collect();
        // The library's own steps, in Python.
        let theirs = python(&format!(
            r#"
import json
payload = [{{"ticket": "{ticket}"}}]
field = {{"type": "{kind}", "codes": [c.upper() for c in [{codes}]]}}
snapshot, realtime = {snapshot}, {realtime}
if snapshot is not None: field["isOnlySnapshot"] = snapshot
if realtime is not None: field["isOnlyRealtime"] = realtime
payload.append(field)
fmt = "{format}".upper()
payload.append({{"format": fmt if fmt in ["SIMPLE", "DEFAULT"] else "DEFAULT"}})
print(json.dumps(payload))
"#,
            kind = data_type.as_str(),
            codes = codes_py.join(", "),
            snapshot = py_bool(snapshot),
            realtime = py_bool(realtime),
        ));
        assert_eq!(ours, theirs);
    }
}
