//! QR codes rendered by the server as inline SVG (no script, no third-party service).

use qrcode::render::svg;
use qrcode::QrCode;

/// An SVG image of a QR code for `data`, or `None` if the data is too long for a QR code.
pub fn svg(data: &str) -> Option<String> {
    let code = QrCode::new(data.as_bytes()).ok()?;
    Some(
        code.render::<svg::Color<'_>>()
            .min_dimensions(220, 220)
            .quiet_zone(true)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_an_svg_element() {
        let out = super::svg("otpauth://totp/Tumbler:a?secret=ABC").unwrap();
        assert!(out.contains("<svg") && out.contains("</svg>"));
    }
}
