//! Where a participant's tile is in a recording: the box their camera's colour covers through
//! most of the file. The layout, not the harness, decides where each participant goes (the grid
//! places them in the order the recorder learns of them), so the benchmark looks.

use std::path::Path;

use super::{MeasureError, decode};

/// The picture is searched at 1/SHRINK of its size.
const SHRINK: u32 = 8;
/// Frames looked at per second of the file.
const SAMPLE_FPS: u32 = 4;
/// A pixel shows a colour when each channel is within this of it (coding noise, the tile's
/// scaling at its edges).
const TOLERANCE: u8 = 40;

/// True when the RGB `pixel` shows `rgb`.
pub fn near(pixel: &[u8], rgb: [u8; 3]) -> bool {
    pixel.iter().zip(rgb).all(|(p, c)| p.abs_diff(c) <= TOLERANCE)
}

/// The box (x, y, width, height in the file's pixels, for a picture of `size`) around the
/// pixels that show `rgb` in at least half of `file`'s frames; `None` when none do.
pub fn colour_box(ffmpeg: &Path, file: &Path, size: (u32, u32), rgb: [u8; 3]) -> Result<Option<(u32, u32, u32, u32)>, MeasureError> {
    let (w, h) = ((size.0 / SHRINK).max(1) as usize, (size.1 / SHRINK).max(1) as usize);
    let filter = format!("fps={SAMPLE_FPS},scale={w}:{h}:flags=area,format=rgb24");
    let mut hits = vec![0u32; w * h];
    let times = decode::video_frames(ffmpeg, file, &filter, w * h * 3, |frame| {
        for (hit, pixel) in hits.iter_mut().zip(frame.chunks_exact(3)) {
            *hit += u32::from(near(pixel, rgb));
        }
    })?;
    let most = |n: &u32| 2 * *n as usize >= times.len() && *n > 0;
    let (mut xs, mut ys) = ((usize::MAX, 0), (usize::MAX, 0));
    for (i, _) in hits.iter().enumerate().filter(|(_, n)| most(n)) {
        let (x, y) = (i % w, i / w);
        (xs, ys) = ((xs.0.min(x), xs.1.max(x)), (ys.0.min(y), ys.1.max(y)));
    }
    if xs.0 == usize::MAX {
        return Ok(None);
    }
    // Back to the file's pixels: each small pixel stands for a `size / small` block.
    let scale = |v: usize, small: usize, full: u32| (v as f64 * f64::from(full) / small as f64).round() as u32;
    let (x0, x1) = (scale(xs.0, w, size.0), scale(xs.1 + 1, w, size.0));
    let (y0, y1) = (scale(ys.0, h, size.1), scale(ys.1 + 1, h, size.1));
    Ok(Some((x0, y0, x1 - x0, y1 - y0)))
}

/// The middle of a tile (half its width and height, centred): the participant's own picture,
/// without the tile's border and name label.
pub fn middle((x, y, w, h): (u32, u32, u32, u32)) -> (u32, u32, u32, u32) {
    (x + w / 4, y + h / 4, w / 2, h / 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::testmedia::{encode, ffmpeg};

    #[test]
    fn finds_the_box_a_colour_covers_and_nothing_for_an_absent_one() {
        let dir = tempfile::tempdir().unwrap();
        // A red tile at the top right of a dark 320x180 picture, with white text across it and a
        // white flash over it now and then (fewer than half the frames).
        let video = "color=c=0x101018:s=320x180:r=30:d=4,drawbox=c=0xd02020:t=fill:x=160:y=0:w=160:h=90,\
                     drawbox=c=white:t=fill:x=160:y=0:w=160:h=90:enable='lt(mod(t,1),0.1)',\
                     drawbox=c=white:t=fill:x=200:y=40:w=60:h=10";
        let file = encode(dir.path(), "tile.mp4", &["-f", "lavfi", "-i", video, "-f", "lavfi", "-i", "anullsrc=d=4"]);
        let (x, y, w, h) = colour_box(&ffmpeg(), &file, (320, 180), [0xd0, 0x20, 0x20]).unwrap().expect("the red tile");
        for (what, got, want) in [("x", x, 160), ("y", y, 0), ("width", w, 160), ("height", h, 90)] {
            assert!(got.abs_diff(want) <= SHRINK, "{what}: {got}, expected {want} ± {SHRINK}");
        }
        assert_eq!(colour_box(&ffmpeg(), &file, (320, 180), [0x20, 0xb0, 0x40]).unwrap(), None);
    }
}
