//! A screenshot of the user's screen for "Get help", taken only when they ask, previewed,
//! and attached only if they keep it.
//!
//! Linux reads the X11 root window (x11rb, pure Rust; Xorg and XWayland sessions). Windows
//! and macOS use `xcap`. A Wayland-only session has no root window to read: the user gets
//! a clear error and can attach nothing rather than a black image.

use base64::Engine;
use deskside_client::views::{CommandError, ScreenshotPreview};

pub struct Screenshot {
    pub png: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

impl Screenshot {
    pub fn preview(&self) -> ScreenshotPreview {
        ScreenshotPreview {
            id: format!("{:016x}", rand::random::<u64>()),
            data_url: format!(
                "data:image/png;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(&self.png)
            ),
            width: self.width,
            height: self.height,
            size_bytes: u32::try_from(self.png.len()).unwrap_or(u32::MAX),
        }
    }
}

fn unavailable(detail: impl std::fmt::Display) -> CommandError {
    CommandError::new(
        "screenshot_unavailable",
        format!("The screen could not be captured here ({detail}). Describe what you see instead."),
    )
}

/// PNG of RGB rows, compressed fast (a screenshot is mostly flat colour).
fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, CommandError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header().map_err(unavailable)?;
    writer.write_image_data(rgb).map_err(unavailable)?;
    writer.finish().map_err(unavailable)?;
    Ok(out)
}

#[cfg(target_os = "linux")]
pub fn capture() -> Result<Screenshot, CommandError> {
    use x11rb::connection::Connection;
    use x11rb::protocol::xproto::{ConnectionExt, ImageFormat, ImageOrder};

    if std::env::var_os("DISPLAY").is_none() {
        return Err(unavailable(
            "no X11 display; Wayland-only sessions are not supported yet",
        ));
    }
    let (connection, screen_number) = x11rb::connect(None).map_err(unavailable)?;
    let setup = connection.setup();
    let screen = &setup.roots[screen_number];
    let (width, height) = (screen.width_in_pixels, screen.height_in_pixels);
    let image = connection
        .get_image(ImageFormat::Z_PIXMAP, screen.root, 0, 0, width, height, !0)
        .map_err(unavailable)?
        .reply()
        .map_err(unavailable)?;
    let format = setup
        .pixmap_formats
        .iter()
        .find(|f| f.depth == image.depth)
        .ok_or_else(|| unavailable(format!("no pixmap format for depth {}", image.depth)))?;
    if format.bits_per_pixel != 32 || setup.image_byte_order != ImageOrder::LSB_FIRST {
        return Err(unavailable(format!(
            "{} bits per pixel, byte order {:?}",
            format.bits_per_pixel, setup.image_byte_order
        )));
    }
    let pixels = usize::from(width) * usize::from(height);
    if image.data.len() < pixels * 4 {
        return Err(unavailable("the display sent a short image"));
    }
    // 32-bit little-endian ZPixmap: B, G, R, unused.
    let mut rgb = Vec::with_capacity(pixels * 3);
    for pixel in image.data.chunks_exact(4).take(pixels) {
        rgb.extend_from_slice(&[pixel[2], pixel[1], pixel[0]]);
    }
    let (width, height) = (u32::from(width), u32::from(height));
    Ok(Screenshot {
        png: encode_png(&rgb, width, height)?,
        width,
        height,
    })
}

#[cfg(any(windows, target_os = "macos"))]
pub fn capture() -> Result<Screenshot, CommandError> {
    let monitors = xcap::Monitor::all().map_err(unavailable)?;
    let monitor = monitors
        .iter()
        .find(|m| m.is_primary().unwrap_or(false))
        .or_else(|| monitors.first())
        .ok_or_else(|| unavailable("no monitor"))?;
    let image = monitor.capture_image().map_err(unavailable)?;
    let (width, height) = (image.width(), image.height());
    let rgb: Vec<u8> = image
        .as_raw()
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    Ok(Screenshot {
        png: encode_png(&rgb, width, height)?,
        width,
        height,
    })
}

#[cfg(not(any(target_os = "linux", windows, target_os = "macos")))]
pub fn capture() -> Result<Screenshot, CommandError> {
    Err(unavailable("this operating system"))
}
