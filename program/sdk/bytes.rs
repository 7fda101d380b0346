//! Little-endian field access on byte slices (account data is only 8-aligned,
//! so never cast it to structs), and a small writer for event/CPI payloads.

use super::Pubkey;

#[inline(always)]
pub fn key_eq(a: &Pubkey, b: &Pubkey) -> bool {
    // Four 8-byte loads per key (misaligned loads are allowed on our target).
    let pa = a.as_ptr();
    let pb = b.as_ptr();
    unsafe {
        let d0 = core::ptr::read_unaligned(pa as *const u64) ^ core::ptr::read_unaligned(pb as *const u64);
        let d1 = core::ptr::read_unaligned(pa.add(8) as *const u64) ^ core::ptr::read_unaligned(pb.add(8) as *const u64);
        let d2 = core::ptr::read_unaligned(pa.add(16) as *const u64) ^ core::ptr::read_unaligned(pb.add(16) as *const u64);
        let d3 = core::ptr::read_unaligned(pa.add(24) as *const u64) ^ core::ptr::read_unaligned(pb.add(24) as *const u64);
        (d0 | d1 | d2 | d3) == 0
    }
}

#[inline(always)]
pub fn is_zero_key(a: &Pubkey) -> bool {
    key_eq(a, &[0u8; 32])
}

#[inline(always)]
pub fn rd_u8(d: &[u8], off: usize) -> u8 {
    d[off]
}

#[inline(always)]
pub fn rd_u16(d: &[u8], off: usize) -> u16 {
    (d[off] as u16) | ((d[off + 1] as u16) << 8)
}

#[inline(always)]
pub fn rd_u32(d: &[u8], off: usize) -> u32 {
    let s = &d[off..off + 4];
    unsafe { core::ptr::read_unaligned(s.as_ptr() as *const u32) }
}

#[inline(always)]
pub fn rd_u64(d: &[u8], off: usize) -> u64 {
    let s = &d[off..off + 8];
    unsafe { core::ptr::read_unaligned(s.as_ptr() as *const u64) }
}

#[inline(always)]
pub fn rd_i64(d: &[u8], off: usize) -> i64 {
    rd_u64(d, off) as i64
}

#[inline(always)]
pub fn rd_key(d: &[u8], off: usize) -> Pubkey {
    let s = &d[off..off + 32];
    unsafe { core::ptr::read_unaligned(s.as_ptr() as *const Pubkey) }
}

#[inline(always)]
pub fn wr_u8(d: &mut [u8], off: usize, v: u8) {
    d[off] = v;
}

#[inline(always)]
pub fn wr_u16(d: &mut [u8], off: usize, v: u16) {
    d[off] = v as u8;
    d[off + 1] = (v >> 8) as u8;
}

#[inline(always)]
pub fn wr_u64(d: &mut [u8], off: usize, v: u64) {
    let s = &mut d[off..off + 8];
    unsafe { core::ptr::write_unaligned(s.as_mut_ptr() as *mut u64, v) }
}

#[inline(always)]
pub fn wr_i64(d: &mut [u8], off: usize, v: i64) {
    wr_u64(d, off, v as u64)
}

#[inline(always)]
pub fn wr_key(d: &mut [u8], off: usize, k: &Pubkey) {
    let s = &mut d[off..off + 32];
    unsafe { core::ptr::write_unaligned(s.as_mut_ptr() as *mut Pubkey, *k) }
}

/// A bounds-checked cursor over instruction data (borsh encoding).
pub struct Reader<'a> {
    pub data: &'a [u8],
    pub pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }
    fn need(&self, n: usize) -> Result<(), u32> {
        if self.pos + n > self.data.len() {
            Err(super::entrypoint::ERR_INVALID_INSTRUCTION_DATA)
        } else {
            Ok(())
        }
    }
    pub fn u8(&mut self) -> Result<u8, u32> {
        self.need(1)?;
        let v = self.data[self.pos];
        self.pos += 1;
        Ok(v)
    }
    pub fn bool(&mut self) -> Result<bool, u32> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(super::entrypoint::ERR_INVALID_INSTRUCTION_DATA),
        }
    }
    pub fn u16(&mut self) -> Result<u16, u32> {
        self.need(2)?;
        let v = rd_u16(self.data, self.pos);
        self.pos += 2;
        Ok(v)
    }
    pub fn u32(&mut self) -> Result<u32, u32> {
        self.need(4)?;
        let v = rd_u32(self.data, self.pos);
        self.pos += 4;
        Ok(v)
    }
    pub fn u64(&mut self) -> Result<u64, u32> {
        self.need(8)?;
        let v = rd_u64(self.data, self.pos);
        self.pos += 8;
        Ok(v)
    }
    pub fn i64(&mut self) -> Result<i64, u32> {
        Ok(self.u64()? as i64)
    }
    pub fn key(&mut self) -> Result<Pubkey, u32> {
        self.need(32)?;
        let v = rd_key(self.data, self.pos);
        self.pos += 32;
        Ok(v)
    }
    /// A borsh `Vec<u8>` / `String`: u32 length then bytes.
    pub fn bytes(&mut self) -> Result<&'a [u8], u32> {
        let n = self.u32()? as usize;
        self.need(n)?;
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    pub fn array32(&mut self) -> Result<[u8; 32], u32> {
        self.key()
    }
    pub fn option_tag(&mut self) -> Result<bool, u32> {
        self.bool()
    }
    /// Trailing bytes are an error: an argument list must be consumed exactly.
    pub fn finish(&self) -> Result<(), u32> {
        if self.pos == self.data.len() {
            Ok(())
        } else {
            Err(super::entrypoint::ERR_INVALID_INSTRUCTION_DATA)
        }
    }
}

/// A fixed-capacity byte writer (events, CPI instruction data). The buffer is not
/// zero-filled (only the written prefix is ever read), and every write is a direct
/// unaligned store: building an event costs a few CU per field.
pub struct Writer<const N: usize> {
    buf: core::mem::MaybeUninit<[u8; N]>,
    pub len: usize,
}

impl<const N: usize> Writer<N> {
    #[inline(always)]
    pub fn new() -> Self {
        Writer { buf: core::mem::MaybeUninit::uninit(), len: 0 }
    }
    #[inline(always)]
    fn at(&mut self, n: usize) -> *mut u8 {
        if self.len + n > N {
            panic!("writer overflow");
        }
        let p = unsafe { (self.buf.as_mut_ptr() as *mut u8).add(self.len) };
        self.len += n;
        p
    }
    #[inline(always)]
    pub fn u8(&mut self, v: u8) -> &mut Self {
        unsafe { *self.at(1) = v };
        self
    }
    #[inline(always)]
    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.u8(if v { 1 } else { 0 })
    }
    #[inline(always)]
    pub fn u16(&mut self, v: u16) -> &mut Self {
        unsafe { core::ptr::write_unaligned(self.at(2) as *mut u16, v.to_le()) };
        self
    }
    #[inline(always)]
    pub fn u32(&mut self, v: u32) -> &mut Self {
        unsafe { core::ptr::write_unaligned(self.at(4) as *mut u32, v.to_le()) };
        self
    }
    #[inline(always)]
    pub fn u64(&mut self, v: u64) -> &mut Self {
        unsafe { core::ptr::write_unaligned(self.at(8) as *mut u64, v.to_le()) };
        self
    }
    #[inline(always)]
    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.u64(v as u64)
    }
    /// 8 bytes (a discriminator) as one store.
    #[inline(always)]
    pub fn key8(&mut self, b: &[u8; 8]) -> &mut Self {
        let p = self.at(8) as *mut u64;
        unsafe { core::ptr::write_unaligned(p, core::ptr::read_unaligned(b.as_ptr() as *const u64)) };
        self
    }
    /// 32 bytes as four 8-byte stores.
    #[inline(always)]
    pub fn key(&mut self, k: &Pubkey) -> &mut Self {
        let p = self.at(32) as *mut u64;
        let q = k.as_ptr() as *const u64;
        unsafe {
            core::ptr::write_unaligned(p, core::ptr::read_unaligned(q));
            core::ptr::write_unaligned(p.add(1), core::ptr::read_unaligned(q.add(1)));
            core::ptr::write_unaligned(p.add(2), core::ptr::read_unaligned(q.add(2)));
            core::ptr::write_unaligned(p.add(3), core::ptr::read_unaligned(q.add(3)));
        }
        self
    }
    pub fn raw(&mut self, b: &[u8]) -> &mut Self {
        let p = self.at(b.len());
        let mut i = 0;
        while i < b.len() {
            unsafe { *p.add(i) = b[i] };
            i += 1;
        }
        self
    }
    /// borsh `String`: u32 length then bytes.
    pub fn string(&mut self, b: &[u8]) -> &mut Self {
        self.u32(b.len() as u32);
        self.raw(b)
    }
    #[inline(always)]
    pub fn as_slice(&self) -> &[u8] {
        unsafe { core::slice::from_raw_parts(self.buf.as_ptr() as *const u8, self.len) }
    }
}
