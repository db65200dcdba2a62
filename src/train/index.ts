export { Trainer, TrainingError, type StepReport, type TrainerEvents } from './trainer.js';
export { readTrainConfig, parseTrainConfig, type TrainConfig } from './config.js';
export { buildTrainingGraph, addLoss, targetFor, type LossConfig, type TrainingGraph } from './training-graph.js';
export { AdamW, learningRate, decays, DEFAULT_ADAMW } from './optimizer.js';
export { LOSS_NAMES, type LossName } from './losses.js';
export { latestCheckpoint } from './checkpoints.js';
