/**
 * A canvas to draw a digit with the mouse, a pen or a finger (pointer events, so touch works):
 * white strokes on black, as MNIST has them. Calls `onStroke` while drawing (the caller throttles
 * its requests) and `onDone` when a stroke ends. Keyboard users get the Clear button and the
 * gallery; the canvas itself is labelled for screen readers.
 */
import { useEffect, useRef } from 'preact/hooks';

const SIZE = 224;

export function DrawCanvas(props: { onStroke: (canvas: HTMLCanvasElement) => void; onDone: (canvas: HTMLCanvasElement) => void }) {
  const ref = useRef<HTMLCanvasElement>(null);
  const last = useRef<{ x: number; y: number } | null>(null);

  const clear = () => {
    const ctx = ref.current?.getContext('2d');
    if (!ctx) return;
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, SIZE, SIZE);
  };
  useEffect(clear, []);

  const point = (e: PointerEvent) => {
    const rect = ref.current!.getBoundingClientRect();
    return { x: ((e.clientX - rect.left) / rect.width) * SIZE, y: ((e.clientY - rect.top) / rect.height) * SIZE };
  };
  const down = (e: PointerEvent) => {
    ref.current?.setPointerCapture(e.pointerId);
    last.current = point(e);
    move(e);
  };
  const move = (e: PointerEvent) => {
    const canvas = ref.current;
    const ctx = canvas?.getContext('2d');
    if (!canvas || !ctx || !last.current) return;
    e.preventDefault();
    const p = point(e);
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = SIZE / 14;
    ctx.lineCap = 'round';
    ctx.beginPath();
    ctx.moveTo(last.current.x, last.current.y);
    ctx.lineTo(p.x, p.y);
    ctx.stroke();
    last.current = p;
    props.onStroke(canvas);
  };
  const up = () => {
    if (!last.current || !ref.current) return;
    last.current = null;
    props.onDone(ref.current);
  };

  return (
    <div class="draw">
      <canvas ref={ref} width={SIZE} height={SIZE} role="img" aria-label="drawing area: draw a digit with the mouse or a finger"
        data-testid="draw-canvas" onPointerDown={down} onPointerMove={move} onPointerUp={up} onPointerCancel={up} />
      <button type="button" onClick={clear}>Clear drawing</button>
    </div>
  );
}
