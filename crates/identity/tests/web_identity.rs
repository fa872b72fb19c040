//! `AssumeRoleWithWebIdentity` against the example's cross-account IRSA role,
//! with tokens signed by a real RSA key.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use orgtwin_identity::{
    IdSource, Jwk, KeySource, StsError, WebIdentityRequest, assume_role_with_web_identity,
};
use orgtwin_policy::Timestamp;
use rsa::RsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use sha2::Sha256;

const ISSUER: &str = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
const ROLE: &str = "arn:aws:iam::444455556666:role/payroll-irsa-role";
const NOW: i64 = 1_796_317_704;

struct Keys(Vec<Jwk>);

impl KeySource for Keys {
    fn keys(&self, issuer: &str) -> Result<Vec<Jwk>, String> {
        if issuer == ISSUER {
            Ok(self.0.clone())
        } else {
            Err(format!("unknown issuer {issuer}"))
        }
    }
}

struct Ids;

impl IdSource for Ids {
    fn access_key_id(&mut self, prefix: &str) -> String {
        format!("{prefix}TESTTESTTESTTEST")
    }
    fn secret_access_key(&mut self) -> String {
        "s".repeat(40)
    }
    fn session_token(&mut self) -> String {
        "token".into()
    }
}

fn key() -> (RsaPrivateKey, Jwk) {
    let mut rng = rand::thread_rng();
    let private = RsaPrivateKey::new(&mut rng, 1024).unwrap();
    let public = private.to_public_key();
    let jwk = Jwk {
        kid: Some("k1".into()),
        n: public.n().to_bytes_be(),
        e: public.e().to_bytes_be(),
    };
    (private, jwk)
}

fn token(private: &RsaPrivateKey, header: &str, claims: &serde_json::Value) -> String {
    let h = URL_SAFE_NO_PAD.encode(header);
    let c = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signing = SigningKey::<Sha256>::new(private.clone());
    let signature = signing.sign(format!("{h}.{c}").as_bytes());
    format!("{h}.{c}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

fn claims(sub: &str, aud: &str, exp: i64) -> serde_json::Value {
    serde_json::json!({"iss": ISSUER, "sub": sub, "aud": [aud], "exp": exp, "iat": NOW - 60})
}

fn exchange(token: String, keys: &Keys) -> Result<orgtwin_identity::WebIdentityIssued, StsError> {
    let model = orgtwin_model::embedded();
    let request = WebIdentityRequest {
        role_arn: ROLE.into(),
        role_session_name: "irsa".into(),
        web_identity_token: token,
        ..WebIdentityRequest::default()
    };
    assume_role_with_web_identity(
        &model,
        &request,
        keys,
        Timestamp::from_unix_seconds(NOW),
        &mut Ids,
    )
}

const HEADER: &str = r#"{"alg":"RS256","kid":"k1"}"#;
const SUB: &str = "system:serviceaccount:PayrollNamespace:payroll-irsa";

#[test]
fn every_check_of_sts() {
    let (private, jwk) = key();
    let keys = Keys(vec![jwk]);

    let ok = exchange(
        token(
            &private,
            HEADER,
            &claims(SUB, "sts.amazonaws.com", NOW + 3600),
        ),
        &keys,
    )
    .unwrap();
    assert_eq!(ok.subject, SUB);
    assert_eq!(ok.audience, "sts.amazonaws.com");
    assert_eq!(
        ok.issued.session.arn(),
        "arn:aws:sts::444455556666:assumed-role/payroll-irsa-role/irsa"
    );

    let other_sa = exchange(
        token(
            &private,
            HEADER,
            &claims(
                "system:serviceaccount:PayrollNamespace:other",
                "sts.amazonaws.com",
                NOW + 3600,
            ),
        ),
        &keys,
    );
    assert_eq!(other_sa.unwrap_err().code(), "AccessDenied");

    let wrong_aud = exchange(
        token(&private, HEADER, &claims(SUB, "other", NOW + 3600)),
        &keys,
    )
    .unwrap_err();
    assert_eq!(
        (wrong_aud.code(), wrong_aud.to_string().as_str()),
        ("InvalidIdentityToken", "Incorrect token audience")
    );

    let expired = exchange(
        token(
            &private,
            HEADER,
            &claims(SUB, "sts.amazonaws.com", NOW - 301),
        ),
        &keys,
    )
    .unwrap_err();
    assert_eq!(expired.code(), "ExpiredTokenException");
    let within_skew = exchange(
        token(
            &private,
            HEADER,
            &claims(SUB, "sts.amazonaws.com", NOW - 299),
        ),
        &keys,
    );
    assert!(within_skew.is_ok());

    let (other_private, _) = key();
    let forged = exchange(
        token(
            &other_private,
            HEADER,
            &claims(SUB, "sts.amazonaws.com", NOW + 3600),
        ),
        &keys,
    )
    .unwrap_err();
    assert_eq!(forged.code(), "InvalidIdentityToken");

    let none_alg = exchange(
        token(
            &private,
            r#"{"alg":"none"}"#,
            &claims(SUB, "sts.amazonaws.com", NOW + 3600),
        ),
        &keys,
    )
    .unwrap_err();
    assert_eq!(none_alg.code(), "InvalidIdentityToken");

    let mut foreign = claims(SUB, "sts.amazonaws.com", NOW + 3600);
    foreign["iss"] = "https://oidc.eks.us-east-1.amazonaws.com/id/OTHER".into();
    let no_provider = exchange(token(&private, HEADER, &foreign), &keys).unwrap_err();
    assert!(
        no_provider
            .to_string()
            .starts_with("No OpenIDConnect provider found in your account for")
    );

    let garbage = exchange("not-a-jwt".into(), &keys).unwrap_err();
    assert_eq!(garbage.code(), "InvalidIdentityToken");
}
