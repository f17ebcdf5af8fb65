// Audio in the browser: decoding clips, WAV files, playing a stream as it arrives.
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
// Generated speech: the server's 16-bit samples, exactly, as a WAV file.
export function pcm16Wav(chunks, rate) {
    const n = chunks.reduce((s, c) => s + c.length, 0);
    const buf = new ArrayBuffer(44 + n * 2);
    wavHeader(new DataView(buf), rate, n * 2, 1, 16);
    const out = new Int16Array(buf, 44, n);
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
