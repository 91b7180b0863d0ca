//! The thumbnail of a 12-megapixel camera JPEG (issue goal: under 300 ms), and a whole photo's
//! preparation (upright, shrunk to 3,072 pixels, thumbnail, hash).

use criterion::{criterion_group, criterion_main, Criterion};
use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, Rgb, RgbImage};

/// A 4,000 × 3,000 scene with some grain, saved at a camera's quality.
fn twelve_megapixels() -> Vec<u8> {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let img = RgbImage::from_fn(4000, 3000, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let n = (seed & 0x1F) as u8;
        Rgb([
            ((x / 20) as u8).wrapping_add(n),
            ((y / 15) as u8).wrapping_add(n),
            (((x + y) / 30) as u8).wrapping_add(n),
        ])
    });
    let mut out = Vec::new();
    DynamicImage::ImageRgb8(img).write_with_encoder(JpegEncoder::new_with_quality(&mut out, 92)).expect("encode");
    out
}

fn bench(c: &mut Criterion) {
    let jpeg = twelve_megapixels();
    println!("12-megapixel JPEG of {:.1} MB", jpeg.len() as f64 / 1048576.0);
    let mut g = c.benchmark_group("photo");
    g.sample_size(20);
    g.bench_function("thumbnail_12_megapixel_jpeg", |b| b.iter(|| ptw_media::thumbnail(&jpeg).expect("thumbnail")));
    g.bench_function("prepare_12_megapixel_jpeg", |b| b.iter(|| ptw_media::prepare_photo(&jpeg).expect("photo")));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
