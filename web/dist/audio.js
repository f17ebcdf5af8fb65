// Decodes any format the browser knows (wav, mp3, flac, ogg, opus, m4a, webm) to mono.
export async function decodeClip(data) {
    const ctx = new OfflineAudioContext(1, 1, 44100);
    const buffer = await ctx.decodeAudioData(await data.arrayBuffer());
    const mono = new Float32Array(buffer.length);
    for (let c = 0; c < buffer.numberOfChannels; c++) {
        const ch = buffer.getChannelData(c);
        for (let i = 0; i < ch.length; i++)
            mono[i] += ch[i] / buffer.numberOfChannels;
    }
    return { samples: mono, rate: buffer.sampleRate };
}
function wavHeader(view, rate, dataBytes, format, bits) {
    const text = (off, s) => [...s].forEach((c, i) => view.setUint8(off + i, c.charCodeAt(0)));
    text(0, "RIFF");
    view.setUint32(4, 36 + dataBytes, true);
    text(8, "WAVEfmt ");
    view.setUint32(16, 16, true);
    view.setUint16(20, format, true);
    view.setUint16(22, 1, true);
    view.setUint32(24, rate, true);
    view.setUint32(28, (rate * bits) / 8, true);
    view.setUint16(32, bits / 8, true);
    view.setUint16(34, bits, true);
    text(36, "data");
    view.setUint32(40, dataBytes, true);
}
// A reference clip as a float WAV (no quantisation before the server's checks).
export function floatWav(clip) {
    const buf = new ArrayBuffer(44 + clip.samples.length * 4);
    const view = new DataView(buf);
    wavHeader(view, clip.rate, clip.samples.length * 4, 3, 32);
    new Float32Array(buf, 44).set(clip.samples);
    return new Blob([buf], { type: "audio/wav" });
}
// A LIST/INFO chunk with the non-empty tags (each NUL-terminated, padded to an
// even size), as the server writes it; empty without tags.
function infoChunk(tags) {
    if (!tags)
        return new Uint8Array(0);
    const fields = [
        ["INAM", tags.title], ["IART", tags.artist], ["ICMT", tags.comment], ["ISFT", tags.software], ["ICRD", tags.date],
    ];
    const parts = [];
    for (const [id, value] of fields) {
        if (!value)
            continue;
        const text = new TextEncoder().encode(value);
        const padded = new Uint8Array(8 + text.length + 1 + ((text.length + 1) % 2));
        const view = new DataView(padded.buffer);
        [...id].forEach((c, i) => view.setUint8(i, c.charCodeAt(0)));
        view.setUint32(4, text.length + 1, true);
        padded.set(text, 8);
        parts.push(padded);
    }
    if (parts.length === 0)
        return new Uint8Array(0);
    const body = parts.reduce((n, p) => n + p.length, 4);
    const out = new Uint8Array(8 + body);
    const view = new DataView(out.buffer);
    [..."LIST"].forEach((c, i) => view.setUint8(i, c.charCodeAt(0)));
    view.setUint32(4, body, true);
    [..."INFO"].forEach((c, i) => view.setUint8(8 + i, c.charCodeAt(0)));
    let pos = 12;
    for (const p of parts) {
        out.set(p, pos);
        pos += p.length;
    }
    return out;
}
// Generated speech: the server's 16-bit samples, exactly, as a WAV file that
// carries the server's synthetic-speech mark (between fmt and data).
export function pcm16Wav(chunks, rate, tags) {
    const n = chunks.reduce((s, c) => s + c.length, 0);
    const info = infoChunk(tags);
    const head = new Uint8Array(44);
    const view = new DataView(head.buffer);
    wavHeader(view, rate, n * 2, 1, 16);
    view.setUint32(4, 36 + info.length + n * 2, true);
    const buf = new ArrayBuffer(44 + info.length + n * 2);
    const bytes = new Uint8Array(buf);
    bytes.set(head.subarray(0, 36), 0); // RIFF, fmt
    bytes.set(info, 36); // the mark
    bytes.set(head.subarray(36, 44), 36 + info.length); // data header
    const out = new Int16Array(buf, 44 + info.length, n); // info.length is even
    let pos = 0;
    for (const c of chunks) {
        out.set(c, pos);
        pos += c.length;
    }
    return new Blob([buf], { type: "audio/wav" });
}
// Plays PCM blocks as they arrive, gaplessly, through an <audio> element (so
// it has the usual controls and events), via Web Audio and a MediaStream.
export class StreamPlayer {
    element;
    rate;
    ctx;
    dest;
    next = 0;
    constructor(element, rate = 24000) {
        this.element = element;
        this.rate = rate;
        this.ctx = new AudioContext({ sampleRate: rate });
        this.dest = this.ctx.createMediaStreamDestination();
        element.srcObject = this.dest.stream;
    }
    push(pcm) {
        if (pcm.length === 0)
            return;
        const buffer = this.ctx.createBuffer(1, pcm.length, this.rate);
        const ch = buffer.getChannelData(0);
        for (let i = 0; i < pcm.length; i++)
            ch[i] = pcm[i] / 32768;
        const src = this.ctx.createBufferSource();
        src.buffer = buffer;
        src.connect(this.dest);
        // A small lead keeps blocks back to back even if one arrives late.
        this.next = Math.max(this.next, this.ctx.currentTime + 0.05);
        src.start(this.next);
        this.next += buffer.duration;
        if (this.element.paused)
            void this.element.play().catch(() => undefined);
    }
    // Seconds until what was pushed has played.
    remaining() {
        return Math.max(0, this.next - this.ctx.currentTime);
    }
    close() {
        this.element.srcObject = null;
        void this.ctx.close();
    }
}
// Live input level (0..1) of a media stream, for a meter.
export class LevelMeter {
    ctx = new AudioContext();
    analyser;
    data;
    constructor(stream) {
        this.analyser = this.ctx.createAnalyser();
        this.analyser.fftSize = 1024;
        this.data = new Float32Array(this.analyser.fftSize);
        this.ctx.createMediaStreamSource(stream).connect(this.analyser);
    }
    level() {
        this.analyser.getFloatTimeDomainData(this.data);
        let sum = 0;
        for (const v of this.data)
            sum += v * v;
        return Math.min(1, Math.sqrt(sum / this.data.length) * 4);
    }
    close() {
        void this.ctx.close();
    }
}
