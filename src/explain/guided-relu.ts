/**
 * The guided-backprop ReLU (Springenberg et al. 2015): forward it is an ordinary ReLU; backward
 * it passes the incoming gradient only where the forward input was positive AND the incoming
 * gradient is positive, `dy * (x > 0) * (dy > 0)`. It is used only inside a forward function built
 * for guided backprop (see layer-walk.ts); no global gradient override is ever installed. Defined
 * beside the plain one in src/model/relu-for-gradient.ts, so the gradient forward can recognise it
 * and fuse it into the convolution before it.
 */
export { guidedRelu } from '../model/relu-for-gradient.ts';
