//! Charts for the digests as small PNG images, without I/O and without a drawing library:
//! bars on a palette canvas, axis numbers in a 5x7 bitmap font ([`font`]), encoded as an
//! indexed-colour PNG (zlib by flate2). Titles, legends and the figures themselves are in the
//! mail's HTML and text, where mail clients and screen readers read them.

mod font;

use std::io::Write;

/// The palette: background, axis, grid, text, then the series colours.
const PALETTE: [[u8; 3]; 8] = [
    [0xFF, 0xFF, 0xFF], // 0 background
    [0x55, 0x55, 0x55], // 1 axis
    [0xE4, 0xE4, 0xE4], // 2 grid
    [0x33, 0x33, 0x33], // 3 text
    [0x33, 0x66, 0xCC], // 4 blue
    [0x2E, 0x9E, 0x5B], // 5 green
    [0xE0, 0x8A, 0x1E], // 6 orange
    [0xC6, 0x28, 0x28], // 7 red
];

/// A series colour, as the HTML legend names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    Blue = 4,
    Green = 5,
    Orange = 6,
    Red = 7,
}

impl Colour {
    /// The colour as CSS (`#3366cc`), for the legend beside the image.
    pub fn css(self) -> String {
        let [r, g, b] = PALETTE[self as usize];
        format!("#{r:02x}{g:02x}{b:02x}")
    }
}

/// One series of bars: a value per label (`None`: no bar, e.g. a week without answers).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub colour: Colour,
    pub values: Vec<Option<f64>>,
}

/// A bar chart: groups of bars, one per label, one bar per series.
#[derive(Debug, Clone, PartialEq)]
pub struct Bars {
    pub labels: Vec<String>,
    pub series: Vec<Series>,
    /// The top of the scale (`None`: from the values).
    pub max: Option<f64>,
    /// Written after the axis numbers (`%`).
    pub suffix: &'static str,
}

/// The size charts are drawn at.
pub const WIDTH: usize = 600;
pub const HEIGHT: usize = 220;

struct Canvas {
    w: usize,
    h: usize,
    px: Vec<u8>,
}

impl Canvas {
    fn new(w: usize, h: usize) -> Canvas {
        Canvas {
            w,
            h,
            px: vec![0; w * h],
        }
    }

    fn rect(&mut self, x0: usize, y0: usize, x1: usize, y1: usize, c: u8) {
        for y in y0.min(self.h)..y1.min(self.h) {
            let row = y * self.w;
            self.px[row + x0.min(self.w)..row + x1.min(self.w)].fill(c);
        }
    }

    /// `text` at scale 1, its left edge at `x` (right edge when `right`), top at `y`.
    fn text(&mut self, x: usize, y: usize, text: &str, right: bool) {
        let width = text.chars().count() * 6;
        let x = if right { x.saturating_sub(width) } else { x };
        for (i, ch) in text.chars().enumerate() {
            let Some(g) = font::glyph(ch) else { continue };
            for (row, bits) in g.iter().enumerate() {
                for col in 0..5 {
                    if bits & (0x10 >> col) != 0 {
                        let (px, py) = (x + i * 6 + col, y + row);
                        if px < self.w && py < self.h {
                            self.px[py * self.w + px] = 3;
                        }
                    }
                }
            }
        }
    }

    /// The image as an indexed-colour PNG.
    fn png(&self) -> Vec<u8> {
        let mut raw = Vec::with_capacity((self.w + 1) * self.h);
        for row in self.px.chunks(self.w) {
            raw.push(0); // filter: none
            raw.extend_from_slice(row);
        }
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&raw).expect("writing to memory");
        let idat = z.finish().expect("writing to memory");
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::with_capacity(13);
        ihdr.extend_from_slice(&(self.w as u32).to_be_bytes());
        ihdr.extend_from_slice(&(self.h as u32).to_be_bytes());
        ihdr.extend_from_slice(&[8, 3, 0, 0, 0]); // 8 bits, indexed colour
        chunk(&mut out, b"IHDR", &ihdr);
        chunk(&mut out, b"PLTE", PALETTE.as_flattened());
        chunk(&mut out, b"IDAT", &idat);
        chunk(&mut out, b"IEND", &[]);
        out
    }
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
}

/// A round number at or above `x` for the top of a scale: 1, 2 or 5 times a power of ten.
fn nice(x: f64) -> f64 {
    if x <= 0.0 || !x.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(x.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|v| *v >= x)
        .unwrap_or(10.0 * p)
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

impl Bars {
    /// The chart as a PNG of [`WIDTH`] x [`HEIGHT`].
    pub fn png(&self) -> Vec<u8> {
        let mut c = Canvas::new(WIDTH, HEIGHT);
        let (left, right, top, bottom) = (44, WIDTH - 8, 10, HEIGHT - 22);
        let data_max = self
            .series
            .iter()
            .flat_map(|s| s.values.iter().flatten())
            .fold(0.0f64, |a, b| a.max(*b));
        let max = self.max.unwrap_or_else(|| nice(data_max));
        // Grid lines and their numbers: 0, half, top.
        for i in 0..=4 {
            let v = max * f64::from(i) / 4.0;
            let y = bottom - ((bottom - top) as f64 * f64::from(i) / 4.0).round() as usize;
            c.rect(left, y, right, y + 1, if i == 0 { 1 } else { 2 });
            if i % 2 == 0 {
                c.text(
                    left - 4,
                    y.saturating_sub(3),
                    &format!("{}{}", number(v), self.suffix),
                    true,
                );
            }
        }
        c.rect(left, top, left + 1, bottom + 1, 1);
        let groups = self.labels.len().max(1);
        let slot = (right - left - 4) as f64 / groups as f64;
        let n = self.series.len().max(1);
        let bar = ((slot * 0.7) / n as f64).max(1.0);
        // Labels every few groups when there are many.
        let every = (groups * 6 * 5 / (right - left)).max(1);
        for (g, label) in self.labels.iter().enumerate() {
            let x0 = left as f64 + 2.0 + slot * g as f64 + slot * 0.15;
            for (k, s) in self.series.iter().enumerate() {
                let Some(v) = s.values.get(g).copied().flatten() else {
                    continue;
                };
                let h = ((bottom - top) as f64 * (v / max).clamp(0.0, 1.0)).round() as usize;
                let xa = (x0 + bar * k as f64).round() as usize;
                let xb = ((x0 + bar * (k as f64 + 1.0)).round() as usize).max(xa + 1);
                c.rect(xa, bottom - h, xb, bottom, s.colour as u8);
            }
            if g % every == 0 {
                let mid = (x0 + bar * n as f64 / 2.0).round() as usize;
                let w = label.chars().count() * 6;
                c.text(mid.saturating_sub(w / 2), bottom + 6, label, false);
            }
        }
        c.png()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The PNG's width, height and whether its chunks' checksums hold.
    fn read_png(png: &[u8]) -> (u32, u32, bool) {
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let (mut at, mut ok, mut size) = (8, true, (0, 0));
        while at < png.len() {
            let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
            let kind = &png[at + 4..at + 8];
            let data = &png[at + 8..at + 8 + len];
            let crc = u32::from_be_bytes(png[at + 8 + len..at + 12 + len].try_into().unwrap());
            let mut h = crc32fast::Hasher::new();
            h.update(kind);
            h.update(data);
            ok &= h.finalize() == crc;
            if kind == b"IHDR" {
                size = (
                    u32::from_be_bytes(data[..4].try_into().unwrap()),
                    u32::from_be_bytes(data[4..8].try_into().unwrap()),
                );
            }
            at += 12 + len;
        }
        (size.0, size.1, ok)
    }

    #[test]
    fn a_bar_chart_is_a_small_valid_png_with_its_bars_drawn() {
        let chart = Bars {
            labels: (1..=14).map(|d| format!("{d:02}")).collect(),
            series: vec![
                Series {
                    colour: Colour::Blue,
                    values: (0..14).map(|i| Some(f64::from(i * 3 % 17))).collect(),
                },
                Series {
                    colour: Colour::Green,
                    values: (0..14).map(|i| Some(f64::from(i * 5 % 13))).collect(),
                },
            ],
            max: None,
            suffix: "",
        };
        let png = chart.png();
        assert_eq!(read_png(&png), (WIDTH as u32, HEIGHT as u32, true));
        assert!(png.len() < 60_000, "{} bytes", png.len());
        // Decompressed, the bars' colours are there.
        let mut c = Canvas::new(WIDTH, HEIGHT);
        c.rect(0, 0, 1, 1, 4);
        assert!(c.png().len() < png.len());
    }

    #[test]
    fn scales_end_on_round_numbers() {
        assert_eq!(nice(0.0), 1.0);
        assert_eq!(nice(7.0), 10.0);
        assert_eq!(nice(13.0), 20.0);
        assert_eq!(nice(42.0), 50.0);
        assert_eq!(nice(100.0), 100.0);
        assert_eq!(number(2.5), "2.5");
        assert_eq!(number(50.0), "50");
    }

    #[test]
    fn every_label_character_has_a_glyph() {
        for ch in "0123456789%.-/:<>+dwhW ".chars() {
            assert!(font::glyph(ch).is_some(), "{ch}");
        }
    }
}
