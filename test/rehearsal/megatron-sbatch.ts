// The one place the rehearsal imports the Megatron launch renderer from: change this line when it moves.
export { renderMegatronSbatch } from '../../lib/training/megatron-launch';
