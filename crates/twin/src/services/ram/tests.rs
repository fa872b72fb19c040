use super::*;

#[test]
fn operations_by_method_and_path() {
    assert_eq!(
        operation("POST", "/createresourceshare").as_deref(),
        Some("CreateResourceShare")
    );
    assert_eq!(
        operation("DELETE", "/deleteresourceshare").as_deref(),
        Some("DeleteResourceShare")
    );
    assert_eq!(operation("GET", "/createresourceshare"), None);
    assert_eq!(operation("POST", "/deleteresourceshare"), None);
}

#[test]
fn subnets_stay_in_the_organization() {
    let model = orgtwin_model::embedded();
    let subnet = "arn:aws:ec2:us-east-1:555566667777:subnet/subnet-0b2c3d4e5f6a70021".to_string();
    let outside = "210987654321".to_string();
    let refused = check_share(
        &model,
        "555566667777",
        true,
        std::slice::from_ref(&subnet),
        &[],
        std::slice::from_ref(&outside),
    );
    assert_eq!(
        refused.map_err(|e| (e.code, e.message)),
        Err((
            "OperationNotPermittedException".into(),
            SUBNETS_ONLY_IN_ORG.into()
        ))
    );
    let closed = check_share(
        &model,
        "555566667777",
        false,
        &[],
        &[],
        std::slice::from_ref(&outside),
    );
    assert_eq!(
        closed.map_err(|e| e.code),
        Err("OperationNotPermittedException".into())
    );
    assert!(check_share(&model, "555566667777", true, &[], &[], &[outside]).is_ok());
    assert!(
        check_share(
            &model,
            "555566667777",
            false,
            &[subnet],
            &[SharePrincipal::Account("777788889999".into())],
            &[]
        )
        .is_ok()
    );
}

#[test]
fn principals_are_read_as_ram_names_them() {
    let model = orgtwin_model::embedded();
    assert_eq!(
        parse_principal(&model, "444455556666").ok(),
        Some(SharePrincipal::Account("444455556666".into()))
    );
    assert_eq!(
        parse_principal(&model, &organization_arn(&model)).ok(),
        Some(SharePrincipal::Organization)
    );
    assert_eq!(
        parse_principal(&model, "123456789012").map_err(|e| e.code),
        Err("UnknownResourceException".into())
    );
    assert_eq!(
        parse_principal(&model, "arn:aws:iam::444455556666:role/x").map_err(|e| e.code),
        Err("InvalidParameterException".into())
    );
    for ou in &model.organization.organizational_units {
        let text = ou_arn(&model, &ou.id);
        let parsed = parse_principal(&model, &text).unwrap();
        assert_eq!(principal_text(&model, &parsed), text);
    }
}
