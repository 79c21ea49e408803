// The one header an embedding application includes.
#pragma once
#include "autograd/elementwise.h"
#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/op_registry.h"
#include "autograd/reduction.h"
#include "tensor/safetensors.h"
#include "tensor/stream.h"
#include "tensor/tensor.h"
