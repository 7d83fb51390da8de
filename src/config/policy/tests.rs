//! Tests of the parent module.

use super::*;

#[test]
fn opening_hours() {
    assert_eq!(parse_hours("09:00-17:00"), Ok(vec![(540, 1020)]));
    assert_eq!(
        parse_hours("13:00-17:00, 08:30-12:00"),
        Ok(vec![(510, 720), (780, 1020)])
    );
    assert_eq!(parse_hours("00:00-24:00"), Ok(vec![(0, 1440)]));
    assert!(parse_hours("17:00-09:00").is_err());
    assert!(parse_hours("9-5").is_err());
    assert!(parse_hours("09:00-12:00,11:00-13:00").is_err());
}
